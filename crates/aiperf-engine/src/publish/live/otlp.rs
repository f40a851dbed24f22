//! OTLP/HTTP export of the OTel aggregate: the protobuf messages (`opentelemetry-proto`'s
//! prost types) and the POSTs, from a task of its own.
//!
//! Every flush interval the aggregate is copied out and sent (cumulative, so a later export
//! makes up for a failed one); `finish` sends the final state. A failed export warns once per
//! run; only a failed final export counts as a failed delivery.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aiperf_config::ProfileConfig;
use aiperf_core::Clock;
use aiperf_transport::{BaseUrl, Cancel, ClientOptions, ConnChoice, HttpClient, RequestSpec};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Histogram, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use tokio::sync::watch;

use super::otel::{Aggregate, Attributes, OtelTap, Value, TIMING_COUNTERS};

/// The instrumentation scope AIPerf's meter is named after.
pub(super) const SCOPE: &str = "aiperf.records";

fn kv(key: &str, v: &Value) -> KeyValue {
    let value = match v {
        Value::Str(s) => any_value::Value::StringValue(s.clone()),
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::Int(i) => any_value::Value::IntValue(*i),
        Value::Double(d) => any_value::Value::DoubleValue(*d),
    };
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// The export request for the aggregate as of `now_ns` (wall clock); `None` when nothing was
/// recorded yet (the OTel SDK sends nothing then either).
pub(super) fn request(
    tap: &OtelTap,
    st: &Aggregate,
    attrs: &Attributes,
    now_ns: u64,
) -> Option<ExportMetricsServiceRequest> {
    let mut metrics = Vec::new();
    for (i, inst) in tap.instruments.iter().enumerate() {
        let mut points: Vec<HistogramDataPoint> = st
            .series
            .iter()
            .filter(|((j, _), _)| *j == i)
            .map(|((_, key), h)| HistogramDataPoint {
                attributes: attrs
                    .record(inst.shape, key)
                    .iter()
                    .map(|(k, v)| kv(k, v))
                    .collect(),
                start_time_unix_nano: h.start_ns,
                time_unix_nano: now_ns,
                count: h.count,
                sum: Some(h.sum),
                bucket_counts: h.counts.clone(),
                explicit_bounds: inst.bounds.to_vec(),
                min: Some(h.min),
                max: Some(h.max),
                ..Default::default()
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        // A stable order (the map's is not): by start time, then attributes.
        points.sort_by(|a, b| {
            (a.start_time_unix_nano, format!("{:?}", a.attributes))
                .cmp(&(b.start_time_unix_nano, format!("{:?}", b.attributes)))
        });
        metrics.push(Metric {
            name: inst.name.clone(),
            description: inst.description.clone(),
            unit: inst.unit.clone(),
            data: Some(metric::Data::Histogram(Histogram {
                data_points: points,
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            })),
            ..Default::default()
        });
    }
    for ((name, field), c) in TIMING_COUNTERS.iter().zip(st.timing.iter()) {
        if c.value == 0 {
            continue;
        }
        metrics.push(Metric {
            name: name.to_string(),
            description: format!("AIPerf timing counter: {field}"),
            unit: "1".to_string(),
            data: Some(metric::Data::Sum(Sum {
                data_points: vec![NumberDataPoint {
                    attributes: attrs.timing.iter().map(|(k, v)| kv(k, v)).collect(),
                    start_time_unix_nano: c.start_ns,
                    time_unix_nano: now_ns,
                    value: Some(number_data_point::Value::AsDouble(c.value as f64)),
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            })),
            ..Default::default()
        });
    }
    if metrics.is_empty() {
        return None;
    }
    Some(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: attrs.resource.iter().map(|(k, v)| kv(k, v)).collect(),
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: SCOPE.to_string(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// Sends export requests to one OTLP/HTTP endpoint.
struct Sender {
    url: BaseUrl,
    path: String,
    timeout: Duration,
    clock: Clock,
    insecure: bool,
    /// Opened on first use (name resolution is part of delivering).
    client: Option<HttpClient>,
    headers: HeaderMap,
}

impl Sender {
    async fn post(&mut self, body: Vec<u8>) -> Result<(), String> {
        if self.client.is_none() {
            let opts = ClientOptions {
                insecure: self.insecure,
                ..Default::default()
            };
            let c = HttpClient::with_options(&self.url, self.clock, &opts)
                .await
                .map_err(|e| e.to_string())?;
            self.client = Some(c);
        }
        let Some(client) = &self.client else {
            return Err("no client".into());
        };
        let spec = RequestSpec {
            method: Method::POST,
            path: &self.path,
            headers: &self.headers,
            extra_headers: [
                (
                    HeaderName::from_static("content-type"),
                    HeaderValue::from_static("application/x-protobuf"),
                ),
                (
                    HeaderName::from_static("user-agent"),
                    HeaderValue::from_static(concat!("aiperf/", env!("CARGO_PKG_VERSION"))),
                ),
            ],
            body: body.into(),
            conn: ConnChoice::Pooled,
            watch: None,
        };
        let ex = client
            .send(
                spec,
                Instant::now() + self.timeout,
                self.timeout.as_secs_f64(),
                Cancel::default(),
            )
            .await;
        ex.success()
    }
}

/// The exporter: periodic exports until stopped, then the final one.
pub(super) struct Exporter {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<bool>,
}

impl Exporter {
    /// Starts exporting `tap` to the configured URL every flush interval.
    pub(super) fn start(cfg: &ProfileConfig, tap: Arc<OtelTap>, clock: Clock) -> Option<Self> {
        let otel = cfg.observability.otel.as_ref()?;
        let mut sender = Sender {
            url: otel.metrics_url.clone(),
            path: otel.metrics_url.join(""),
            timeout: otel.request_timeout,
            clock,
            insecure: cfg.insecure,
            client: None,
            headers: HeaderMap::new(),
        };
        let attrs = Attributes::new(cfg);
        let every = otel.flush_interval.max(Duration::from_millis(100));
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut warned = false;
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        export(&tap, &attrs, &mut sender, clock, &mut warned).await;
                    }
                    _ = stopped.changed() => break,
                }
            }
            export(&tap, &attrs, &mut sender, clock, &mut warned).await
        });
        Some(Self { stop, task })
    }

    /// Stops the periodic exports and sends the final state; false when that failed.
    pub(super) async fn finish(self) -> bool {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or(false)
    }
}

/// One export of the current state; true when delivered (or nothing to send).
async fn export(
    tap: &OtelTap,
    attrs: &Attributes,
    sender: &mut Sender,
    clock: Clock,
    warned: &mut bool,
) -> bool {
    let body = {
        let st = tap.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = clock.to_wall_ns(clock.now_ns());
        match request(tap, &st, attrs, now) {
            Some(r) => r.encode_to_vec(),
            None => return true,
        }
    };
    match sender.post(body).await {
        Ok(()) => true,
        Err(e) => {
            if !*warned {
                *warned = true;
                tracing::warn!(
                    "--otel-url: exporting metrics to {} failed: {e} (warned once; later exports carry everything so far)",
                    sender.url
                );
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_core::ErrorDetails;
    use aiperf_metrics::RecordValues;
    use opentelemetry_proto::tonic::metrics::v1::HistogramDataPoint;

    use crate::publish::RecordTap;

    fn attrs() -> Attributes {
        Attributes {
            resource: vec![
                ("service.name".into(), Value::Str("aiperf".into())),
                ("team".into(), Value::Str("perf".into())),
            ],
            gen_ai: vec![
                ("gen_ai.operation.name", Value::Str("chat".into())),
                ("gen_ai.provider.name", Value::Str("_OTHER".into())),
            ],
            timing: vec![
                ("aiperf.benchmark_phase", Value::Str("profiling".into())),
                ("aiperf.total_expected_requests", Value::Int(3)),
            ],
        }
    }

    fn get<'a>(req: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
        req.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    fn points(m: &Metric) -> &[HistogramDataPoint] {
        match &m.data {
            Some(metric::Data::Histogram(h)) => {
                assert_eq!(h.aggregation_temporality, 2, "cumulative");
                &h.data_points
            }
            _ => panic!("{} is not a histogram", m.name),
        }
    }

    fn attr<'a>(kvs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
        kvs.iter()
            .find(|k| k.key == key)
            .and_then(|k| k.value.as_ref()?.value.as_ref())
    }

    #[test]
    fn encodes_histograms_and_counters_that_decode_back() {
        let tap = OtelTap::new(true, true, Clock::start());
        let st = tap.state.lock().unwrap();
        assert!(
            request(&tap, &st, &attrs(), 1).is_none(),
            "nothing recorded yet"
        );
        drop(st);
        for ms in [20.0, 300.0] {
            let v = RecordValues {
                request_latency: Some(ms * 1e6),
                output_token_count: Some(10.0),
                ..Default::default()
            };
            tap.record(&v, None, 0);
        }
        let e = ErrorDetails::new(Some(503), "Service Unavailable", "");
        tap.record(&RecordValues::default(), Some(&e), 0);
        let st = tap.state.lock().unwrap();
        let bytes = request(&tap, &st, &attrs(), 42).unwrap().encode_to_vec();
        let req = ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap();

        let rm = &req.resource_metrics[0];
        let res = &rm.resource.as_ref().unwrap().attributes;
        assert_eq!(
            attr(res, "team"),
            Some(&any_value::Value::StringValue("perf".into()))
        );
        assert_eq!(rm.scope_metrics[0].scope.as_ref().unwrap().name, SCOPE);

        let dur = get(&req, "gen_ai.client.operation.duration");
        assert_eq!(dur.unit, "s");
        let p = &points(dur)[0];
        // 0.02 s falls in (0.01, 0.02] (index 1), 0.3 s in (0.16, 0.32] (index 5).
        let mut want = vec![0u64; 15];
        want[1] = 1;
        want[5] = 1;
        assert_eq!(p.bucket_counts, want);
        assert_eq!(p.explicit_bounds.len(), 14);
        assert_eq!(p.count, 2);
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-12);
        assert!(close(p.sum, 0.32), "{:?}", p.sum);
        assert!(
            close(p.min, 0.02) && close(p.max, 0.3),
            "{:?} {:?}",
            p.min,
            p.max
        );
        assert_eq!(p.time_unix_nano, 42);
        assert_eq!(
            attr(&p.attributes, "aiperf.has_error"),
            Some(&any_value::Value::BoolValue(false))
        );
        assert_eq!(
            attr(&p.attributes, "gen_ai.operation.name"),
            Some(&any_value::Value::StringValue("chat".into()))
        );
        assert!(attr(&p.attributes, "error.type").is_none());

        let tok = &points(get(&req, "gen_ai.client.token.usage"))[0];
        assert_eq!(
            attr(&tok.attributes, "gen_ai.token.type"),
            Some(&any_value::Value::StringValue("output".into()))
        );
        assert_eq!((tok.count, tok.sum), (2, Some(20.0)));

        let done = get(&req, "aiperf.timing.requests.completed");
        let Some(metric::Data::Sum(s)) = &done.data else {
            panic!("not a sum")
        };
        assert!(s.is_monotonic);
        assert_eq!(s.aggregation_temporality, 2);
        assert_eq!(
            s.data_points[0].value,
            Some(number_data_point::Value::AsDouble(3.0))
        );
        assert_eq!(
            attr(
                &s.data_points[0].attributes,
                "aiperf.total_expected_requests"
            ),
            Some(&any_value::Value::IntValue(3))
        );
        let errs = get(&req, "aiperf.timing.requests.errors");
        assert_eq!(errs.description, "AIPerf timing counter: request_errors");
        // Nothing was cancelled: that counter has not moved, so it is not sent.
        assert!(req.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .all(|m| m.name != "aiperf.timing.requests.cancelled"));
    }
}
