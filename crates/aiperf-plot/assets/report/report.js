/*
 * aiperf report.html: draws the charts and the comparison against a baseline from the JSON
 * embedded in the page (the application/json script element "aiperf-report-data"), and wires
 * the controls. Everything else (verdicts, warnings, summary tables, configuration) is static
 * HTML written by aiperf, readable without this script.
 *
 * Charts use uPlot in mode 2 ("facets"): every series keeps its own x and y columns, so series
 * with different x values (per-request scatter, a request timeline, one point per run) need no
 * shared x column and no point is merged away. Each mark is drawn by a small path builder below
 * that hands Path2D objects to uPlot; uPlot does the axes, scales, zoom (drag a box;
 * double-click resets), the hover legend and clipping to the plot area.
 *
 * When the charts are drawn, <body data-charts> lists each chart's id and the points drawn per
 * series, and <body data-ready="1"> says the page is done: the end-to-end test reads both.
 * This script writes nothing to the console; errors go to window.aiperfRecordError (errors.js).
 */
(function () {
  "use strict";

  var record = window.aiperfRecordError || function () {};

  /** What the controls chose: statistic, log y scale, theme, baseline run index. */
  var state = { stat: "avg", logY: false, theme: "light", baseline: 0 };

  /** Height of a chart's plotting area and axes, in CSS pixels (the legend comes below). */
  var PLOT_HEIGHT = 320;

  /** Point labels are written beside points only when a series has at most this many. */
  var MAX_LABELLED_POINTS = 50;

  /** Changes smaller than this (in %) are not coloured better/worse in the comparison. */
  var NEUTRAL_PERCENT = 1;

  // ---- colours: by what a series stands for, the same in both themes ----

  /** The page's primary colour (its accent bar, the selected statistic). */
  var PRIMARY = "#76b900";

  /**
   * A fixed palette for series without a role, picked by position among them. It leaves out
   * the role colours (green, red, amber, grey, magenta) so a palette series never reads as one.
   */
  var PALETTE = [
    "#2f80ed", "#e8710a", "#12a4b6", "#7048e8",
    "#b08800", "#d6336c", "#8d6e63", "#3d5a80"
  ];

  var ROLE_COLOURS = {
    ok: PRIMARY,
    error: "#e5484d",
    cancelled: "#f5a524",
    reference: "#8c959f",
    baseline: "#8c959f",
    front: PRIMARY,
    knee: "#d100d1"
  };

  /** The colour of a series: its role's, or the palette's next one for role "palette". */
  function roleColour(role, paletteIndex) {
    return ROLE_COLOURS[role] || PALETTE[paletteIndex % PALETTE.length];
  }

  /** `#rrggbb` with an alpha, for fills drawn under or over other marks. */
  function withAlpha(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + ((n >> 16) & 255) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  /** Theme colours for canvas text and grid, read from the page's CSS variables. */
  function themeColours() {
    var style = getComputedStyle(document.documentElement);
    function read(name, fallback) {
      var value = style.getPropertyValue(name).trim();
      return value || fallback;
    }
    return {
      fg: read("--fg", "#1b1f24"),
      muted: read("--muted", "#57606a"),
      grid: read("--grid", "rgba(0,0,0,0.1)"),
      bg: read("--bg", "#ffffff")
    };
  }

  // ---- small helpers ----

  function isNum(v) {
    return typeof v === "number" && isFinite(v);
  }

  /** Numbers as the static tables print them: about 4 significant digits. */
  function fmt(v) {
    if (!isNum(v)) return "\u2013";
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3).replace("e+", "e");
    if (a >= 1000) return v.toFixed(0);
    if (a >= 100) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    if (a === 0) return "0";
    return v.toPrecision(3);
  }

  /** Indices of `xs` in ascending x order, for marks that join points (lines, steps, bands). */
  function sortedOrder(xs) {
    var order = [];
    for (var i = 0; i < xs.length; i++) order.push(i);
    order.sort(function (a, b) {
      var xa = isNum(xs[a]) ? xs[a] : Infinity;
      var xb = isNum(xs[b]) ? xs[b] : Infinity;
      return xa - xb || a - b;
    });
    return order;
  }

  /** The smallest gap between distinct values: default bar width and timeline row height. */
  function smallestGap(values) {
    var sorted = values.filter(isNum).sort(function (a, b) { return a - b; });
    var gap = Infinity;
    for (var i = 1; i < sorted.length; i++) {
      var d = sorted[i] - sorted[i - 1];
      if (d > 0 && d < gap) gap = d;
    }
    return gap;
  }

  /** Number of points of a series that can be drawn (finite x and y). */
  function drawablePoints(series) {
    var n = 0;
    for (var i = 0; i < series.x.length; i++) {
      if (isNum(series.x[i]) && isNum(series.y[i])) n++;
    }
    return n;
  }

  /** Whether a series belongs in the chart for statistic `stat` (no statistic: always). */
  function shownFor(stat) {
    return function (series) {
      return series.stat == null || series.stat === stat;
    };
  }

  // ---- scale ranges: computed here because companion columns (bands, whiskers, span ends,
  // bar widths) reach beyond the y and x columns that uPlot would look at ----

  /** Adds the finite (and, for log scales, positive) values of `column` to `ext`. */
  function widen(ext, column, log) {
    if (!column) return;
    for (var i = 0; i < column.length; i++) {
      var v = column[i];
      if (!isNum(v) || (log && v <= 0)) continue;
      if (v < ext.min) ext.min = v;
      if (v > ext.max) ext.max = v;
    }
  }

  /** Data extent of scale `key` ("x", "y" or "y2") over the shown series. */
  function extent(metas, key, log) {
    var ext = { min: Infinity, max: -Infinity };
    metas.forEach(function (m) {
      var s = m.series;
      if (key === "x") {
        widen(ext, s.x, log);
        widen(ext, s.x_low, log);
        widen(ext, s.x_high, log);
        if (s.mark === "bars") {
          widen(ext, s.x.map(function (x) { return x - m.barWidth / 2; }), log);
          widen(ext, s.x.map(function (x) { return x + m.barWidth / 2; }), log);
        }
        return;
      }
      if (m.yKey !== key) return;
      widen(ext, s.y, log);
      widen(ext, s.y_low, log);
      widen(ext, s.y_high, log);
      if (s.mark === "spans") {
        widen(ext, s.y.map(function (y) { return y - m.rowHeight / 2; }), log);
        widen(ext, s.y.map(function (y) { return y + m.rowHeight / 2; }), log);
      }
      if ((s.mark === "bars" || s.mark === "area") && !log) widen(ext, [0], false);
    });
    return ext;
  }

  /** A padded range for an extent; x gets a little room, y uPlot's rounded one. */
  function niceRange(ext, log, isX) {
    var min = ext.min, max = ext.max;
    if (!(min <= max)) return log ? [1, 10] : [0, 1];
    if (log) {
      // 5% of the decades spanned on each side, so points on a power of ten are not cut.
      var factor = Math.max(Math.pow(max / min, 0.05), 1.1);
      return [min / factor, max * factor];
    }
    if (isX) {
      var pad = (max - min) * 0.03 || Math.abs(min) * 0.1 || 1;
      var lo = min - pad;
      // A time axis that starts at 0 should not show negative seconds.
      if (min >= 0 && lo < 0) lo = 0;
      return [lo, max + pad];
    }
    return uPlot.rangeNum(min, max, 0.1, true);
  }

  // ---- drawing: one path builder per mark, in canvas pixels ----

  function dpr() {
    return uPlot.pxRatio || window.devicePixelRatio || 1;
  }

  function px(u, v) {
    return u.valToPos(v, "x", true);
  }

  function py(u, v, key) {
    return u.valToPos(v, key, true);
  }

  /** The canvas y of the value 0 (or of the bottom of a log scale), where fills start. */
  function baseline(u, key) {
    var sc = u.scales[key];
    if (sc.distr === 3) return py(u, sc.min, key);
    return py(u, Math.min(Math.max(0, sc.min), sc.max), key);
  }

  /** Circles at every finite point; returns the path and how many points it holds. */
  function dots(u, m, radius) {
    var s = m.series, path = new Path2D(), count = 0;
    for (var i = 0; i < s.x.length; i++) {
      if (!isNum(s.x[i]) || !isNum(s.y[i])) continue;
      var cx = px(u, s.x[i]), cy = py(u, s.y[i], m.yKey);
      path.moveTo(cx + radius, cy);
      path.arc(cx, cy, radius, 0, 2 * Math.PI);
      count++;
    }
    return { path: path, count: count };
  }

  /** Runs of consecutive finite points in x order, as canvas [x, y] pairs (gaps split runs). */
  function runs(u, m, column) {
    var s = m.series, out = [], current = null;
    m.order.forEach(function (i) {
      var x = s.x[i], y = column[i];
      if (!isNum(x) || !isNum(y)) {
        current = null;
        return;
      }
      if (!current) {
        current = [];
        out.push(current);
      }
      current.push([px(u, x), py(u, y, m.yKey)]);
    });
    return out;
  }

  /** A polyline through runs; `stepped` holds each y until the next x (Plotly's "hv"). */
  function polyline(pointRuns, stepped) {
    var path = new Path2D();
    pointRuns.forEach(function (run) {
      run.forEach(function (p, k) {
        if (k === 0) {
          path.moveTo(p[0], p[1]);
        } else if (stepped) {
          path.lineTo(p[0], run[k - 1][1]);
          path.lineTo(p[0], p[1]);
        } else {
          path.lineTo(p[0], p[1]);
        }
      });
    });
    return path;
  }

  function countRuns(pointRuns) {
    return pointRuns.reduce(function (n, run) { return n + run.length; }, 0);
  }

  var MARKS = {
    /** Points only: large when few (one per run), small and translucent when many. */
    scatter: function (u, m) {
      var many = m.count > 2000;
      var radius = m.count <= MAX_LABELLED_POINTS ? 4.5 : many ? 1.6 : 2.8;
      var d = dots(u, m, radius * dpr());
      return { fill: d.path, count: d.count, fillStyle: withAlpha(m.colour, many ? 0.55 : 0.85) };
    },

    /** Points joined in x order; small series also get their points. */
    line: function (u, m) {
      var r = runs(u, m, m.series.y);
      var out = { stroke: polyline(r, false), count: countRuns(r) };
      if (out.count <= MAX_LABELLED_POINTS) out.fill = dots(u, m, 2.5 * dpr()).path;
      return out;
    },

    step: function (u, m) {
      var r = runs(u, m, m.series.y);
      return { stroke: polyline(r, true), count: countRuns(r) };
    },

    /** A step function filled down to zero (or to the bottom of a log scale). */
    area: function (u, m) {
      var r = runs(u, m, m.series.y);
      var base = baseline(u, m.yKey);
      var fill = new Path2D();
      r.forEach(function (run) {
        fill.moveTo(run[0][0], base);
        run.forEach(function (p, k) {
          if (k > 0) fill.lineTo(p[0], run[k - 1][1]);
          fill.lineTo(p[0], p[1]);
        });
        fill.lineTo(run[run.length - 1][0], base);
        fill.closePath();
      });
      return {
        stroke: polyline(r, true),
        fill: fill,
        count: countRuns(r),
        fillStyle: withAlpha(m.colour, 0.25)
      };
    },

    /** Bars centred on x; several bar series in one chart stand side by side. */
    bars: function (u, m) {
      var s = m.series, path = new Path2D(), count = 0;
      var base = baseline(u, m.yKey);
      var slot = m.barWidth / m.barSlots;
      for (var i = 0; i < s.x.length; i++) {
        if (!isNum(s.x[i]) || !isNum(s.y[i])) continue;
        var left = s.x[i] - m.barWidth / 2 + slot * m.barSlot;
        var x0 = px(u, left), x1 = px(u, left + slot), y1 = py(u, s.y[i], m.yKey);
        path.rect(Math.min(x0, x1), Math.min(base, y1), Math.max(Math.abs(x1 - x0), 1), Math.abs(y1 - base));
        count++;
      }
      return { fill: path, stroke: path, count: count, fillStyle: withAlpha(m.colour, 0.6) };
    },

    /** The region between y_low and y_high, with the centre line y drawn over it. */
    band: function (u, m) {
      var s = m.series, fill = new Path2D(), upper = [], lower = [];
      function close() {
        if (upper.length > 0) {
          upper.forEach(function (p, k) {
            if (k === 0) fill.moveTo(p[0], p[1]);
            else fill.lineTo(p[0], p[1]);
          });
          lower.reverse().forEach(function (p) { fill.lineTo(p[0], p[1]); });
          fill.closePath();
        }
        upper = [];
        lower = [];
      }
      if (s.y_low && s.y_high) {
        m.order.forEach(function (i) {
          var x = s.x[i], lo = s.y_low[i], hi = s.y_high[i];
          if (!isNum(x) || !isNum(lo) || !isNum(hi)) {
            close();
            return;
          }
          var cx = px(u, x);
          upper.push([cx, py(u, hi, m.yKey)]);
          lower.push([cx, py(u, lo, m.yKey)]);
        });
        close();
      }
      var r = runs(u, m, s.y);
      return {
        stroke: polyline(r, false),
        fill: fill,
        count: countRuns(r),
        fillStyle: withAlpha(m.colour, 0.2)
      };
    },

    /** A request timeline: a bar from x to x_high on row y. */
    spans: function (u, m) {
      var s = m.series, path = new Path2D(), count = 0, ends = s.x_high || [];
      var minPx = 1 * dpr();
      for (var i = 0; i < s.x.length; i++) {
        if (!isNum(s.x[i]) || !isNum(s.y[i]) || !isNum(ends[i])) continue;
        var x0 = px(u, s.x[i]), x1 = px(u, ends[i]);
        var top = py(u, s.y[i] + m.rowHeight * 0.4, m.yKey);
        var bottom = py(u, s.y[i] - m.rowHeight * 0.4, m.yKey);
        var h = Math.max(Math.abs(bottom - top), minPx);
        path.rect(Math.min(x0, x1), (top + bottom - h) / 2, Math.max(Math.abs(x1 - x0), minPx), h);
        count++;
      }
      return { fill: path, count: count, fillStyle: withAlpha(m.colour, 0.8) };
    },

    /** Points with whiskers y_low..y_high and/or x_low..x_high, capped at both ends. */
    error_bars: function (u, m) {
      var s = m.series, whiskers = new Path2D(), cap = 4 * dpr();
      for (var i = 0; i < s.x.length; i++) {
        if (!isNum(s.x[i]) || !isNum(s.y[i])) continue;
        var cx = px(u, s.x[i]), cy = py(u, s.y[i], m.yKey);
        if (s.y_low && s.y_high && isNum(s.y_low[i]) && isNum(s.y_high[i])) {
          var lo = py(u, s.y_low[i], m.yKey), hi = py(u, s.y_high[i], m.yKey);
          whiskers.moveTo(cx, lo);
          whiskers.lineTo(cx, hi);
          whiskers.moveTo(cx - cap, lo);
          whiskers.lineTo(cx + cap, lo);
          whiskers.moveTo(cx - cap, hi);
          whiskers.lineTo(cx + cap, hi);
        }
        if (s.x_low && s.x_high && isNum(s.x_low[i]) && isNum(s.x_high[i])) {
          var left = px(u, s.x_low[i]), right = px(u, s.x_high[i]);
          whiskers.moveTo(left, cy);
          whiskers.lineTo(right, cy);
          whiskers.moveTo(left, cy - cap);
          whiskers.lineTo(left, cy + cap);
          whiskers.moveTo(right, cy - cap);
          whiskers.lineTo(right, cy + cap);
        }
      }
      var d = dots(u, m, 3.5 * dpr());
      return { stroke: whiskers, fill: d.path, count: d.count };
    },

    /** Highlighted points with a ring in the background colour; labels come from drawLabels. */
    marker: function (u, m) {
      var d = dots(u, m, 6 * dpr());
      return { fill: d.path, stroke: d.path, count: d.count, strokeStyle: m.theme.bg, width: 2 };
    }
  };

  /**
   * uPlot's `paths` callback for one series: draws with the series' mark and records how many
   * points were drawn (what data-charts reports).
   */
  function pathBuilder(m, entry, position) {
    var draw = MARKS[m.series.mark] || MARKS.scatter;
    return function (u) {
      var built = draw(u, m);
      entry.drawn[position] = built.count;
      var result = { stroke: built.stroke || null, fill: built.fill || null, clip: null, flags: 0 };
      // uPlot falls back to the series' own stroke/fill/width for keys left undefined.
      if (built.fillStyle) result._fill = built.fillStyle;
      if (built.strokeStyle) result._stroke = built.strokeStyle;
      if (built.width) result._width = built.width;
      return result;
    };
  }

  /**
   * A draw hook writing point labels beside points (markers always, others when few): right of
   * the point and above it, flipped left near the right edge; a marker's label goes below so it
   * does not cover the label of the point it marks. A halo in the background colour keeps text
   * readable over lines and grid.
   */
  function labelsHook(metas) {
    return function (u) {
      var ctx = u.ctx, ratio = dpr(), box = u.bbox;
      ctx.save();
      ctx.beginPath();
      ctx.rect(box.left, box.top, box.width, box.height);
      ctx.clip();
      ctx.textAlign = "left";
      ctx.lineJoin = "round";
      ctx.lineWidth = 3 * ratio;
      metas.forEach(function (m, k) {
        var s = m.series;
        if (!s.labels || !u.series[k + 1].show) return;
        var isMarker = s.mark === "marker";
        if (!isMarker && m.count > MAX_LABELLED_POINTS) return;
        ctx.font = (isMarker ? "600 " : "") + Math.round(12 * ratio) + "px system-ui, sans-serif";
        ctx.textBaseline = isMarker ? "top" : "bottom";
        ctx.strokeStyle = m.theme.bg;
        ctx.fillStyle = isMarker ? m.colour : m.theme.fg;
        var gap = (isMarker ? 8 : 5) * ratio;
        for (var i = 0; i < s.x.length; i++) {
          var text = s.labels[i];
          if (!text || !isNum(s.x[i]) || !isNum(s.y[i])) continue;
          var x = px(u, s.x[i]) + gap, y = py(u, s.y[i], m.yKey);
          var width = ctx.measureText(text).width;
          if (x + width > box.left + box.width) x -= width + 2 * gap;
          y += isMarker ? gap : -gap / 2;
          ctx.strokeText(text, x, y);
          ctx.fillText(text, x, y);
        }
      });
      ctx.restore();
    };
  }

  /** Marks read along x (a value per x): the hover legend shows the point nearest in x. */
  var READ_ALONG_X = { line: true, step: true, area: true, band: true, bars: true };

  /**
   * uPlot's hover lookup for mode 2: the point of series `si` under the cursor, so the legend
   * shows its value. Marks read along x take the nearest x; points, spans, whiskers and markers
   * take the nearest point within 40 CSS pixels (a span counts from its start to its end).
   */
  function nearestPoint(metas) {
    return function (u, si) {
      var m = metas[si - 1], left = u.cursor.left, top = u.cursor.top;
      if (!m || left == null || left < 0) return null;
      var s = m.series, alongX = READ_ALONG_X[s.mark] === true;
      var ends = s.mark === "spans" ? s.x_high : null;
      var best = null, bestD = alongX ? Infinity : 40 * 40;
      for (var i = 0; i < s.x.length; i++) {
        if (!isNum(s.x[i]) || !isNum(s.y[i])) continue;
        var x0 = u.valToPos(s.x[i], "x"), dx = x0 - left;
        if (ends && isNum(ends[i])) {
          var x1 = u.valToPos(ends[i], "x");
          dx = left < x0 ? x0 - left : left > x1 ? left - x1 : 0;
        }
        var dy = alongX ? 0 : u.valToPos(s.y[i], m.yKey) - top;
        var d = dx * dx + dy * dy;
        if (d < bestD) {
          bestD = d;
          best = i;
        }
      }
      return best;
    };
  }

  /** The legend text of the hovered point: "x, y", a span's range, and its label if any. */
  function legendValue(m) {
    return function (u, _value, _si, idx) {
      if (idx == null) return "";
      var s = m.series, text;
      if (s.mark === "spans" && s.x_high) {
        text = fmt(s.x[idx]) + "\u2013" + fmt(s.x_high[idx]) + " @ " + fmt(s.y[idx]);
      } else {
        text = fmt(s.x[idx]) + ", " + fmt(s.y[idx]);
      }
      if (s.y_low && s.y_high && isNum(s.y_low[idx])) {
        text += " [" + fmt(s.y_low[idx]) + ", " + fmt(s.y_high[idx]) + "]";
      }
      if (s.labels && s.labels[idx]) text += " (" + s.labels[idx] + ")";
      return text;
    };
  }

  /** uPlot's axis size callback: wide enough for the longest tick label (no clipped digits). */
  function axisSize(u, values, axisIdx, cycleNum) {
    var axis = u.axes[axisIdx];
    if (cycleNum > 1) return axis._size;
    var size = axis.ticks.size + axis.gap;
    var longest = (values || []).reduce(function (acc, v) {
      return v != null && String(v).length > acc.length ? String(v) : acc;
    }, "");
    if (longest !== "") {
      u.ctx.font = axis.font[0];
      size += u.ctx.measureText(longest).width / dpr();
    }
    return Math.ceil(size);
  }

  /**
   * Tick labels of a log axis: uPlot's default labels only some powers of ten, which leaves a
   * sweep over 4..64 with a single "10". Label 1, 2 and 5 times each power when the axis spans
   * few decades, the powers alone otherwise; other ticks keep their grid line.
   */
  function logAxisValues(u, splits, axisIdx) {
    var sc = u.scales[u.axes[axisIdx].scale];
    var decades = Math.log10(sc.max / sc.min);
    return splits.map(function (v) {
      if (!isNum(v) || v <= 0) return null;
      var mantissa = Math.round(v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9)));
      var keep = mantissa === 1 || (decades < 2.5 && (mantissa === 2 || mantissa === 5));
      return keep ? uPlot.fmtNum(v) : null;
    });
  }

  /** Axis options for a log scale: every split offered to logAxisValues. */
  function logAxis(axis) {
    axis.filter = function (u, splits) {
      return splits;
    };
    axis.values = logAxisValues;
    return axis;
  }

  function axisStyle(theme, label) {
    return {
      label: label || "",
      stroke: theme.fg,
      font: "12px system-ui, sans-serif",
      labelFont: "600 12px system-ui, sans-serif",
      grid: { stroke: theme.grid, width: 1 },
      ticks: { stroke: theme.grid, width: 1 }
    };
  }

  /** A bar's width in x units: its own, else 80% of the closest x spacing, else a guess. */
  function barWidth(series, gap) {
    if (isNum(series.width) && series.width > 0) return series.width;
    if (isFinite(gap)) return gap * 0.8;
    return Math.abs(series.x[0]) * 0.1 || 1;
  }

  /** Per-series drawing facts computed once per chart: colour, scale, x order, widths. */
  function seriesMetas(chart, shown, theme) {
    var usesLeft = shown.some(function (s) { return !s.right; });
    var bars = shown.filter(function (s) { return s.mark === "bars"; });
    var paletteIndex = 0;
    return shown.map(function (s) {
      var role = s.role || "palette";
      var colour = roleColour(role, paletteIndex);
      if (role === "palette") paletteIndex++;
      var gap = smallestGap(s.x);
      var rowGap = smallestGap(s.y);
      return {
        series: s,
        colour: colour,
        theme: theme,
        // All series on the right and none on the left: use the left axis, labelled for them.
        yKey: s.right && usesLeft ? "y2" : "y",
        order: sortedOrder(s.x),
        count: drawablePoints(s),
        barWidth: barWidth(s, gap),
        barSlot: bars.indexOf(s),
        barSlots: Math.max(bars.length, 1),
        rowHeight: isFinite(rowGap) ? rowGap : 1
      };
    });
  }

  /**
   * A uPlot scale whose automatic range is ours (see `extent`): the x scale is numeric, not
   * uPlot's default date axis; `log` gives a log10 scale (uPlot's `distr: 3`).
   */
  function scale(metas, key, log) {
    var range = niceRange(extent(metas, key, log), log, key === "x");
    var sc = {
      auto: true,
      distr: log ? 3 : 1,
      range: function () {
        return range.slice();
      }
    };
    if (key === "x") sc.time = false;
    return sc;
  }

  /** The axes of a chart: x, left y, and a right y2 (no grid of its own) when used. */
  function chartAxes(chart, theme, logs) {
    var allRight = logs.allRight && chart.y2;
    var x = axisStyle(theme, chart.x.label);
    x.scale = "x";
    var y = axisStyle(theme, allRight ? chart.y2.label : chart.y.label);
    y.scale = "y";
    y.size = axisSize;
    var axes = [logs.x ? logAxis(x) : x, logs.y ? logAxis(y) : y];
    if (logs.usesRight) {
      var y2 = axisStyle(theme, chart.y2 ? chart.y2.label : "");
      y2.scale = "y2";
      y2.side = 1;
      y2.size = axisSize;
      y2.grid = { show: false };
      axes.push(logs.y2 ? logAxis(y2) : y2);
    }
    return axes;
  }

  /**
   * Whether the log-scale switch applies to a chart: not to request rows (a timeline) or
   * counts (histograms, errors per bucket), where a log axis hides zeros and means nothing.
   */
  function logToggleApplies(chart) {
    return !chart.series.some(function (s) { return s.mark === "spans" || s.mark === "bars"; });
  }

  /** The uPlot options of one chart for the current controls. */
  function plotOptions(chart, metas, entry, width, theme) {
    var allRight = metas.every(function (m) { return m.series.right; });
    var logs = {
      allRight: allRight,
      usesRight: metas.some(function (m) { return m.yKey === "y2"; }),
      x: !!chart.x.log,
      y: (state.logY && logToggleApplies(chart)) || !!(allRight && chart.y2 ? chart.y2.log : chart.y.log),
      y2: (state.logY && logToggleApplies(chart)) || !!(chart.y2 && chart.y2.log)
    };
    var scales = { x: scale(metas, "x", logs.x), y: scale(metas, "y", logs.y) };
    if (logs.usesRight) scales.y2 = scale(metas, "y2", logs.y2);

    var series = [{}].concat(metas.map(function (m, k) {
      return {
        label: m.series.name,
        stroke: m.colour,
        fill: m.colour,
        width: m.series.mark === "spans" || m.series.mark === "scatter" ? 0 : 1.5,
        // Points are drawn by our path builders; uPlot's own would ignore the mark.
        points: { show: false },
        facets: [
          { scale: "x", auto: true, sorted: 0 },
          { scale: m.yKey, auto: true, sorted: 0 }
        ],
        paths: pathBuilder(m, entry, k),
        value: legendValue(m)
      };
    }));

    return {
      mode: 2,
      width: width,
      height: PLOT_HEIGHT,
      scales: scales,
      axes: chartAxes(chart, theme, logs),
      series: series,
      legend: { show: true, live: true },
      cursor: {
        dataIdx: nearestPoint(metas),
        drag: { x: true, y: true, setScale: true },
        points: { size: 8 }
      },
      hooks: { draw: [labelsHook(metas)] }
    };
  }

  // ---- the page ----

  /** The drawn charts: {id, plot, holder, drawn: [points per series], names, note}. */
  var charts = [];

  function readData() {
    var element = document.getElementById("aiperf-report-data");
    return JSON.parse(element.textContent);
  }

  /** Each figure's plot holder by chart id (figures are written by aiperf in chart order). */
  function figuresById() {
    var byId = {};
    Array.prototype.forEach.call(document.querySelectorAll("figure[data-chart]"), function (f) {
      byId[f.getAttribute("data-chart")] = f;
    });
    return byId;
  }

  function plotWidth(holder) {
    return Math.max(holder.clientWidth || 0, 280);
  }

  /** Shows a sentence in place of a chart (nothing to draw for the chosen statistic). */
  function showNote(holder, text) {
    var p = document.createElement("p");
    p.className = "note";
    p.textContent = text;
    holder.appendChild(p);
  }

  /** (Re)draws every chart for the current statistic, scale and theme. */
  function renderCharts(data) {
    charts.forEach(function (c) {
      if (c.plot) c.plot.destroy();
      if (c.holder) c.holder.textContent = "";
    });
    charts = [];
    var theme = themeColours();
    var figures = figuresById();

    data.charts.forEach(function (chart) {
      var entry = { id: chart.id, plot: null, holder: null, drawn: [], names: [], note: null };
      charts.push(entry);
      if (chart.note != null) {
        entry.note = chart.note;
        return;
      }
      var figure = figures[chart.id];
      var holder = figure && figure.querySelector(".plot");
      if (!holder) {
        record("report: no figure for chart " + chart.id);
        return;
      }
      entry.holder = holder;
      var shown = chart.series.filter(shownFor(state.stat)).filter(function (s) {
        return drawablePoints(s) > 0;
      });
      if (shown.length === 0) {
        entry.note = chart.series.length > 0 && !chart.series.some(shownFor(state.stat))
          ? "This chart has no " + state.stat + " series."
          : "No points to draw.";
        showNote(holder, entry.note);
        return;
      }
      var metas = seriesMetas(chart, shown, theme);
      entry.names = shown.map(function (s) { return s.name; });
      entry.drawn = shown.map(function () { return 0; });
      var opts = plotOptions(chart, metas, entry, plotWidth(holder), theme);
      var plotData = [null].concat(shown.map(function (s) { return [s.x, s.y]; }));
      entry.plot = new uPlot(opts, plotData, holder);
    });
  }

  /** Fits every chart to its figure's width after the window changed size. */
  function resizeCharts() {
    charts.forEach(function (c) {
      if (c.plot && c.holder) c.plot.setSize({ width: plotWidth(c.holder), height: PLOT_HEIGHT });
    });
  }

  // ---- comparison against a baseline (several runs) ----

  /** A metric's value for `stat`; a scalar metric (one value) shows it for every statistic. */
  function metricValue(row, stat) {
    if (!row) return null;
    for (var i = 0; i < row.stats.length; i++) {
      if (row.stats[i][0] === stat) return row.stats[i][1];
    }
    return row.stats.length === 1 ? row.stats[0][1] : null;
  }

  /** Metrics in the baseline's order, then those only other runs have. */
  function metricOrder(runs, baseline) {
    var seen = {}, rows = [];
    [runs[baseline]].concat(runs).forEach(function (run) {
      run.metrics.forEach(function (m) {
        if (!seen[m.tag]) {
          seen[m.tag] = true;
          rows.push(m);
        }
      });
    });
    return rows;
  }

  function cell(tag, text, className) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (className) el.className = className;
    return el;
  }

  /** Writes the comparison table: each run's value of the chosen statistic and its % change. */
  function renderDiff(data) {
    var holder = document.getElementById("diff");
    if (!holder || data.mode !== "multi" || data.runs.length === 0) return;
    var base = Math.min(state.baseline, data.runs.length - 1);
    var table = document.createElement("table");
    table.className = "data";
    var head = table.createTHead().insertRow();
    head.appendChild(cell("th", "Metric (" + state.stat + ")"));
    head.appendChild(cell("th", "Unit"));
    data.runs.forEach(function (run, r) {
      head.appendChild(cell("th", run.name + (r === base ? " (baseline)" : "")));
    });
    var body = table.createTBody();
    metricOrder(data.runs, base).forEach(function (metric) {
      var tr = body.insertRow();
      tr.appendChild(cell("td", metric.name));
      tr.appendChild(cell("td", metric.unit, "unit"));
      var byRun = data.runs.map(function (run) {
        var row = run.metrics.filter(function (m) { return m.tag === metric.tag; })[0];
        return metricValue(row, state.stat);
      });
      var b = byRun[base];
      byRun.forEach(function (v, r) {
        if (r === base || !isNum(v)) {
          tr.appendChild(cell("td", fmt(v), r === base ? "baseline" : ""));
          return;
        }
        if (!isNum(b) || b === 0) {
          tr.appendChild(cell("td", fmt(v)));
          return;
        }
        var change = ((v - b) / Math.abs(b)) * 100;
        var better = metric.larger_is_better ? change > 0 : change < 0;
        var className = Math.abs(change) < NEUTRAL_PERCENT ? "" : better ? "better" : "worse";
        var sign = change > 0 ? "+" : "";
        tr.appendChild(cell("td", fmt(v) + " (" + sign + change.toFixed(1) + "%)", className));
      });
    });
    holder.textContent = "";
    holder.appendChild(table);
  }

  // ---- controls ----

  function initialTheme() {
    var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    return dark ? "dark" : "light";
  }

  function applyTheme() {
    document.documentElement.setAttribute("data-theme", state.theme);
    var button = document.getElementById("theme-toggle");
    if (button) button.textContent = state.theme === "dark" ? "light theme" : "dark theme";
  }

  /** Reads the controls' initial state (a reload may restore form values) and listens. */
  function wireControls(data, redraw) {
    var radios = document.querySelectorAll('input[name="stat"]');
    Array.prototype.forEach.call(radios, function (input) {
      if (input.checked) state.stat = input.value;
      input.addEventListener("change", function () {
        if (!input.checked) return;
        state.stat = input.value;
        redraw();
      });
    });

    var log = document.getElementById("log-scale");
    if (log) {
      state.logY = log.checked;
      log.addEventListener("change", function () {
        state.logY = log.checked;
        redraw();
      });
    }

    var theme = document.getElementById("theme-toggle");
    if (theme) {
      theme.addEventListener("click", function () {
        state.theme = state.theme === "dark" ? "light" : "dark";
        applyTheme();
        redraw();
      });
    }

    var picker = document.getElementById("baseline-picker");
    if (picker) {
      state.baseline = Number(picker.value) || 0;
      picker.addEventListener("change", function () {
        state.baseline = Number(picker.value) || 0;
        renderDiff(data);
      });
    }
  }

  /** Tells the end-to-end test what was drawn, once uPlot has drawn (it draws in a microtask). */
  function publish() {
    var list = charts.map(function (c) {
      var item = { id: c.id, series: c.drawn.slice(), names: c.names };
      if (c.note != null) item.note = c.note;
      return item;
    });
    document.body.dataset.charts = JSON.stringify(list);
    document.body.dataset.ready = "1";
  }

  function main() {
    var data = readData();
    state.theme = initialTheme();
    applyTheme();

    function redraw() {
      try {
        renderCharts(data);
        renderDiff(data);
      } catch (e) {
        record("report: " + (e && e.stack ? e.stack : e));
      }
      setTimeout(publish, 0);
    }

    wireControls(data, redraw);
    redraw();

    var pending = false;
    window.addEventListener("resize", function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () {
        pending = false;
        resizeCharts();
      });
    });
  }

  try {
    main();
  } catch (e) {
    record("report: " + (e && e.stack ? e.stack : e));
    document.body.dataset.ready = "1";
  }
})();
