/*
 * aiperf report.html: the error collector. It runs before anything else on the page so that
 * every error (a script exception, a rejected promise, anything written with console.error)
 * ends up in document.body.dataset.errors as a JSON array of messages. The end-to-end test
 * reads that attribute from Chromium's dumped DOM: a page that rendered with errors fails it.
 * It keeps errors visible in the browser's console too; it adds nothing of its own there.
 */
(function () {
  "use strict";

  var errors = [];

  /** Writes the messages so far onto <body> (once it exists). */
  function publish() {
    if (document.body) {
      document.body.dataset.errors = JSON.stringify(errors);
    }
  }

  /** Records one message; the report script calls this for errors it catches itself. */
  function record(message) {
    errors.push(String(message));
    publish();
  }

  window.aiperfRecordError = record;

  window.addEventListener("error", function (event) {
    var where = event.filename ? " (" + event.filename + ":" + event.lineno + ")" : "";
    record((event.message || "error") + where);
  });

  window.addEventListener("unhandledrejection", function (event) {
    var reason = event.reason;
    record("unhandled rejection: " + (reason && reason.message ? reason.message : String(reason)));
  });

  var consoleError = console.error;
  console.error = function () {
    record(Array.prototype.map.call(arguments, String).join(" "));
    return consoleError.apply(console, arguments);
  };

  // <body> does not exist yet while <head> runs: write what was caught so far once it does.
  document.addEventListener("DOMContentLoaded", publish);
})();
