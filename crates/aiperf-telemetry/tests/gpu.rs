//! GPU telemetry: DCGM page -> samples -> per-GPU summaries -> power-efficiency metrics.
//! Every expected number is worked out by hand in the comment next to it.

use std::sync::Arc;

use aiperf_telemetry::energy::{
    energy_metrics, energy_metrics_for_window, ClientTotals, EnergyMetric,
};
use aiperf_telemetry::gpu::{
    aggregate_gpus, endpoint_display, gpu_samples, telemetry_json_key, FieldMap, GpuError, GpuId,
    GpuMetric, GpuSample, GpuStats, GpuSummary, GpuValue, MetricKind, Vendor,
};
use aiperf_telemetry::parse;

const DCGM_PAGE: &str = include_str!("fixtures/dcgm_gpu_telemetry.txt");
const VLLM_PAGE: &str = include_str!("fixtures/vllm.txt");
const S: u64 = 1_000_000_000;

fn close(actual: f64, expected: f64) {
    let tolerance = 1e-9 * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tolerance,
        "expected {expected}, got {actual}"
    );
}

fn samples_of(text: &str, map: &FieldMap) -> Vec<GpuSample> {
    let page = parse(text).expect("fixture parses");
    gpu_samples("http://dgx-a17:9400/metrics", &page, 7 * S, map)
}

// ---------------------------------------------------------------- page -> samples

#[test]
fn dcgm_page_gives_one_sample_per_gpu_with_identity() {
    let samples = samples_of(DCGM_PAGE, &FieldMap::default());
    assert_eq!(samples.len(), 2);
    let gpu0 = &samples[0];
    assert_eq!(gpu0.t_ns, 7 * S);
    assert_eq!(gpu0.source_url, "http://dgx-a17:9400/metrics");
    assert_eq!(
        gpu0.gpu,
        GpuId {
            endpoint: "dgx-a17:9400".into(),
            index: 0,
            uuid: "GPU-5fd4c6a8-1b2c-4d3e-8f90-a1b2c3d4e5f6".into(),
            name: "NVIDIA H100 80GB HBM3".into(),
            hostname: Some("dgx-a17".into()),
            pci_bus_id: Some("00000000:18:00.0".into()),
            device: Some("nvidia0".into()),
            // The exporter sends namespace="" and pod="": AIPerf keeps the empty strings.
            namespace: Some(String::new()),
            pod_name: Some(String::new()),
            vendor: Vendor::Nvidia,
        }
    );
    assert_eq!(samples[1].gpu.index, 1);
    assert_eq!(
        samples[1].gpu.uuid,
        "GPU-9e8d7c6b-5a49-4382-b1c0-f9e8d7c6b5a4"
    );
    assert_eq!(
        samples[1].gpu.pci_bus_id.as_deref(),
        Some("00000000:2A:00.0")
    );
    assert_eq!(telemetry_json_key(&samples[1].gpu), "gpu_1");
}

#[test]
fn dcgm_values_are_scaled_to_aiperf_units_in_jsonl_order() {
    let samples = samples_of(DCGM_PAGE, &FieldMap::default());
    let gpu0 = &samples[0];
    let names: Vec<&str> = gpu0.values.iter().map(|v| v.metric.name.as_str()).collect();
    // AIPerf's TelemetryMetrics field order; jpg utilisation only comes from pynvml, and
    // unmapped fields (SM clock, FB free, PCIe replays, tensor pipe) are dropped.
    assert_eq!(
        names,
        [
            "nvidia_power_usage",
            "nvidia_energy_consumption",
            "nvidia_gpu_utilization",
            "nvidia_memory_utilization",
            "nvidia_memory_used",
            "nvidia_temperature",
            "nvidia_sm_utilization",
            "nvidia_decoder_utilization",
            "nvidia_encoder_utilization",
            "nvidia_xid_errors",
            "nvidia_power_violation",
        ]
    );
    let v = |name: &str| gpu0.value(name).expect(name);
    close(v("nvidia_power_usage"), 512.25); // W as sent
    close(v("nvidia_energy_consumption"), 123.456789012); // 123456789012 mJ * 1e-9 = MJ
    close(v("nvidia_gpu_utilization"), 93.0);
    close(v("nvidia_memory_utilization"), 41.0);
    close(v("nvidia_memory_used"), 42.94967296); // 40960 MiB * 1.048576e-3 = GB
    close(v("nvidia_temperature"), 61.0);
    close(v("nvidia_sm_utilization"), 87.5); // ratio 0.875 * 100
    close(v("nvidia_decoder_utilization"), 12.0);
    close(v("nvidia_encoder_utilization"), 0.0);
    close(v("nvidia_xid_errors"), 0.0);
    close(v("nvidia_power_violation"), 250.0); // 250000 * 1e-3
    let gpu1 = &samples[1];
    close(gpu1.value("nvidia_energy_consumption").unwrap(), 2.5); // 2.5e9 mJ
    close(gpu1.value("nvidia_memory_used").unwrap(), 0.536870912); // 512 MiB
    close(gpu1.value("nvidia_xid_errors").unwrap(), 79.0);
}

#[test]
fn page_without_gpu_metrics_gives_no_samples() {
    assert!(samples_of(VLLM_PAGE, &FieldMap::default()).is_empty());
    assert!(samples_of("", &FieldMap::default()).is_empty());
}

#[test]
fn gpu_with_only_unmapped_fields_gives_no_sample() {
    let page = "# TYPE DCGM_FI_DEV_SM_CLOCK gauge\n\
        DCGM_FI_DEV_SM_CLOCK{gpu=\"0\",UUID=\"GPU-a\",modelName=\"X\"} 1500\n\
        DCGM_FI_DEV_GPU_TEMP{gpu=\"1\",UUID=\"GPU-b\",modelName=\"X\"} 40\n";
    let samples = samples_of(page, &FieldMap::default());
    assert_eq!(samples.len(), 1);
    assert_eq!(samples[0].gpu.uuid, "GPU-b");
}

#[test]
fn missing_model_name_drops_the_whole_page_like_aiperf() {
    // AIPerf's GpuMetadata needs modelName and UUID; its validation error aborts the
    // parse of the page, so even GPU 0 (complete) gives nothing.
    let page = "DCGM_FI_DEV_GPU_TEMP{gpu=\"0\",UUID=\"GPU-a\",modelName=\"X\"} 50\n\
        DCGM_FI_DEV_GPU_TEMP{gpu=\"1\",UUID=\"GPU-b\"} 40\n";
    assert!(samples_of(page, &FieldMap::default()).is_empty());
}

#[test]
fn skipped_samples_and_identity_from_first_finite_sample() {
    let page = "# TYPE DCGM_FI_DEV_GPU_TEMP gauge\n\
        DCGM_FI_DEV_GPU_TEMP{gpu=\"0\",UUID=\"GPU-nan\",modelName=\"NaN one\"} NaN\n\
        DCGM_FI_DEV_GPU_TEMP{gpu=\"x\",UUID=\"GPU-x\",modelName=\"X\"} 40\n\
        DCGM_FI_DEV_GPU_TEMP{UUID=\"GPU-none\",modelName=\"X\"} 41\n\
        DCGM_FI_DEV_GPU_TEMP{gpu=\"0\",UUID=\"GPU-a\",modelName=\"A\",Hostname=\"h\"} 50\n\
        DCGM_FI_DEV_GPU_TEMP{gpu=\"0\",UUID=\"GPU-other\",modelName=\"B\"} 52\n\
        # TYPE DCGM_FI_DEV_XID_ERRORS counter\n\
        DCGM_FI_DEV_XID_ERRORS_total{gpu=\"0\",UUID=\"GPU-a\",modelName=\"A\"} 13\n";
    let samples = samples_of(page, &FieldMap::default());
    assert_eq!(samples.len(), 1);
    let s = &samples[0];
    // NaN sample skipped before it could name the GPU; first finite sample names it.
    assert_eq!(s.gpu.uuid, "GPU-a");
    assert_eq!(s.gpu.hostname.as_deref(), Some("h"));
    assert_eq!(s.gpu.pci_bus_id, None);
    // Last sample of a metric for the GPU index wins.
    assert_eq!(s.value("nvidia_temperature"), Some(52.0));
    // `_total` is stripped from the sample name before mapping.
    assert_eq!(s.value("nvidia_xid_errors"), Some(13.0));
}

#[test]
fn endpoint_display_drops_scheme_and_metrics_path() {
    assert_eq!(
        endpoint_display("http://localhost:9400/metrics"),
        "localhost:9400"
    );
    assert_eq!(endpoint_display("https://h:1/api/metrics"), "h:1/api");
    assert_eq!(endpoint_display("http://node1:9401"), "node1:9401");
    assert_eq!(endpoint_display("pynvml://localhost"), "localhost");
}

// ---------------------------------------------------------------- custom metrics CSV

const CUSTOM_CSV: &str = "\
# DCGM field, type, help
DCGM_FI_DEV_SM_CLOCK, gauge, SM clock frequency (in MHz).

DCGM_FI_DEV_GPU_TEMP, gauge, GPU temperature (in C).
DCGM_FI_DEV_PCIE_REPLAY_COUNTER, counter, Total number of PCIe retries.
DCGM_FI_PROF_PIPE_TENSOR_ACTIVE, gauge, Ratio of cycles the tensor (HMMA) pipe is active, all SMs.
DCGM_FI_DEV_FB_FREE, gauge, (in MiB)
";

#[test]
fn custom_csv_adds_metrics_after_the_built_ins() {
    let map = FieldMap::from_csv(CUSTOM_CSV).expect("valid csv");
    let custom: Vec<(&str, &str, &str, MetricKind)> = map
        .metrics()
        .iter()
        .filter(|m| m.custom)
        .map(|m| (m.name.as_str(), m.display.as_str(), m.unit.as_str(), m.kind))
        .collect();
    assert_eq!(
        custom,
        [
            // Display: help before "(", title-cased; unit from "(in MHz)".
            (
                "nvidia_sm_clock",
                "SM Clock Frequency",
                "MHz",
                MetricKind::Gauge
            ),
            // Declared counter, but AIPerf aggregates custom metrics as gauges; "pcie" is
            // an acronym; no "(" so the whole help (with its period); no "(in ...)" -> count.
            (
                "nvidia_pcie_replay_counter",
                "Total Number Of PCIE Retries.",
                "count",
                MetricKind::Gauge
            ),
            // "(HMMA)" is not "(in X)"; commas stay in the help text.
            (
                "nvidia_pipe_tensor_active",
                "Ratio Of Cycles The Tensor",
                "count",
                MetricKind::Gauge
            ),
            // Empty text before "(" -> the metric name with spaces, capitalised word by
            // word ("nvidia" and "fb" are not in AIPerf's acronym list); MiB labels as MB.
            ("nvidia_fb_free", "Nvidia Fb Free", "MB", MetricKind::Gauge),
        ]
    );
    // A built-in field in the CSV keeps the built-in mapping.
    let temp = map.source("DCGM_FI_DEV_GPU_TEMP").unwrap();
    assert_eq!(temp.metric.name, "nvidia_temperature");
    assert!(!temp.metric.custom);
    // Custom metrics come after the 21 built-ins, in file order.
    assert_eq!(map.metric("nvidia_sm_clock").unwrap().order, 21);
    assert_eq!(map.metric("nvidia_fb_free").unwrap().order, 24);

    // On the fixture page: custom values come after the built-ins, unscaled.
    let samples = samples_of(DCGM_PAGE, &map);
    let gpu0 = &samples[0];
    let tail: Vec<&str> = gpu0.values[11..]
        .iter()
        .map(|v| v.metric.name.as_str())
        .collect();
    // Page order: SM clock, PCIe replay, FB free, tensor pipe.
    assert_eq!(
        tail,
        [
            "nvidia_sm_clock",
            "nvidia_pcie_replay_counter",
            "nvidia_fb_free",
            "nvidia_pipe_tensor_active"
        ]
    );
    assert_eq!(gpu0.value("nvidia_sm_clock"), Some(1980.0));
    assert_eq!(gpu0.value("nvidia_fb_free"), Some(1536.0));
    assert_eq!(gpu0.value("nvidia_pipe_tensor_active"), Some(0.402118));
}

#[test]
fn custom_csv_errors_name_the_line() {
    let err = |text: &str| FieldMap::from_csv(text).unwrap_err().to_string();
    assert_eq!(
        err("# header\n\nDCGM_FI_DEV_SM_CLOCK, gauge\n"),
        "line 3: expected 3 comma-separated values, got 2"
    );
    assert_eq!(
        err("DCGM_FI_DEV_SM_CLOCK, gauge, ok\nSM_CLOCK, gauge, clock\n"),
        "line 2: DCGM field 'SM_CLOCK' should start with 'DCGM_FI_'"
    );
    assert_eq!(
        err("\n\n\n\nDCGM_FI_DEV_SM_CLOCK, Gauge, clock\n"),
        "line 5: metric type 'Gauge' should be 'gauge' or 'counter'"
    );
}

#[test]
fn lenient_csv_skips_bad_lines_like_aiperf() {
    let text = "DCGM_FI_DEV_SM_CLOCK, gauge, SM clock (in MHz)\nbad line\nDCGM_FI_DEV_MEM_CLOCK, histogram, x\n";
    let (map, warnings) = FieldMap::from_csv_lenient(text);
    assert!(map.metric("nvidia_sm_clock").is_some());
    assert!(map.metric("nvidia_mem_clock").is_none());
    assert_eq!(
        warnings,
        [
            GpuError::CustomMetricsCsv {
                line: 2,
                reason: "expected 3 comma-separated values, got 1".into()
            },
            GpuError::CustomMetricsCsv {
                line: 3,
                reason: "metric type 'histogram' should be 'gauge' or 'counter'".into()
            },
        ]
    );
}

// ---------------------------------------------------------------- aggregation

fn gpu(endpoint: &str, index: u32, uuid: &str, vendor: Vendor) -> GpuId {
    GpuId {
        endpoint: endpoint.into(),
        index,
        uuid: uuid.into(),
        name: "Test GPU".into(),
        hostname: None,
        pci_bus_id: None,
        device: None,
        namespace: None,
        pod_name: None,
        vendor,
    }
}

fn sample(map: &FieldMap, id: &GpuId, t_ns: u64, values: &[(&str, f64)]) -> GpuSample {
    GpuSample {
        t_ns,
        source_url: format!("http://{}/metrics", id.endpoint),
        gpu: id.clone(),
        values: values
            .iter()
            .map(|&(name, value)| GpuValue {
                metric: Arc::clone(map.metric(name).expect(name)),
                value,
            })
            .collect(),
    }
}

fn stats<'a>(summary: &'a GpuSummary, name: &str) -> &'a GpuStats {
    &summary.metric(name).expect(name).stats
}

#[test]
fn gauge_and_counter_statistics_over_the_window() {
    let map = FieldMap::default();
    let id = gpu("node:9400", 0, "GPU-a", Vendor::Nvidia);
    let p = "nvidia_power_usage";
    let e = "nvidia_energy_consumption";
    let v = "nvidia_power_violation";
    let t = "nvidia_temperature";
    let samples = vec![
        // Before the window [2 s, 5 s]: the energy baseline; power/temperature ignored.
        sample(&map, &id, S, &[(p, 999.0), (e, 10.0), (t, 70.0)]),
        sample(&map, &id, 2 * S, &[(p, 100.0), (e, 10.5), (v, 100.0)]),
        sample(&map, &id, 3 * S, &[(p, 200.0), (e, 11.0), (v, 100.0)]),
        // The energy counter restarted (DCGM restart): 11.0 -> 0.25.
        sample(&map, &id, 4 * S, &[(p, 400.0), (e, 0.25), (v, 150.0)]),
        sample(&map, &id, 5 * S, &[(p, 300.0), (e, 0.75), (v, 175.0)]),
        // After the window: ignored.
        sample(&map, &id, 6 * S, &[(p, 999.0), (e, 5.0), (t, 71.0)]),
    ];
    let out = aggregate_gpus(&samples, 2 * S, 5 * S);
    assert_eq!(out.len(), 1);
    let summary = &out[0];
    assert_eq!(summary.gpu, id);
    // Config order: power, energy, temperature (absent in window), power violation.
    let names: Vec<&str> = summary.metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, [p, e, v]);
    let power = summary.metric(p).unwrap();
    assert_eq!(
        (power.display.as_str(), power.unit.as_str()),
        ("NVIDIA GPU Power Usage", "W")
    );

    // Power in window: 100, 200, 400, 300. Sum 1000, avg 250, min 100, max 400.
    // Deviations -150, -50, 150, 50 -> squares 22500 + 2500 + 22500 + 2500 = 50000;
    // ddof=1: 50000 / 3 = 16666.67, sqrt = 129.0994448735806.
    // Percentiles of sorted [100, 200, 300, 400], index = 3 * p/100:
    // p1 0.03 -> 103; p5 0.15 -> 115; p10 0.3 -> 130; p25 0.75 -> 175; p50 1.5 -> 250;
    // p75 2.25 -> 325; p90 2.7 -> 370; p95 2.85 -> 385; p99 2.97 -> 397.
    let GpuStats::Gauge {
        avg,
        min,
        max,
        std,
        sum,
        percentiles,
        count,
        samples: n,
    } = stats(summary, p).clone()
    else {
        panic!("power is a gauge");
    };
    close(avg, 250.0);
    close(min, 100.0);
    close(max, 400.0);
    close(sum, 1000.0);
    close(std, 129.0994448735806);
    assert_eq!((count, n), (4, 4));
    let expected = [
        103.0, 115.0, 130.0, 175.0, 250.0, 325.0, 370.0, 385.0, 397.0,
    ];
    for (value, want) in percentiles.iter().zip(expected) {
        close(*value, want);
    }
    let labels = ["p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99"];
    let labelled = stats(summary, p).labelled_percentiles().unwrap();
    for (i, (label, value)) in labelled.iter().enumerate() {
        assert_eq!(*label, labels[i]);
        close(*value, expected[i]);
    }
    close(stats(summary, p).percentile("p90").unwrap(), 370.0);
    assert_eq!(stats(summary, e).percentile("p90"), None);

    // Energy: baseline 10.0 (t=1 s) -> 10.5 -> 11.0 is +1.0; restart, 0.25 -> 0.75 counts
    // from 0: +0.75. Delta 1.75 MJ. (AIPerf itself: max(0.75 - 10.0, 0) = 0.)
    assert_eq!(stats(summary, e), &GpuStats::Counter { delta: 1.75 });
    // Power violation has no baseline before the window: reference = first value in the
    // window (100), last 175 -> delta 75.
    assert_eq!(stats(summary, v), &GpuStats::Counter { delta: 75.0 });
}

#[test]
fn counter_baseline_is_strictly_before_start() {
    let map = FieldMap::default();
    let id = gpu("node:9400", 0, "GPU-a", Vendor::Nvidia);
    let e = "nvidia_energy_consumption";
    let samples = vec![
        sample(&map, &id, S, &[(e, 10.0)]),
        sample(&map, &id, 2 * S, &[(e, 12.0)]), // exactly at start: inside the window
        sample(&map, &id, 3 * S, &[(e, 15.0)]),
    ];
    // Reference is the t=1 s value: 15 - 10 = 5 (not 15 - 12 = 3).
    let out = aggregate_gpus(&samples, 2 * S, 3 * S);
    assert_eq!(stats(&out[0], e), &GpuStats::Counter { delta: 5.0 });
    // One value in the window and no baseline: delta 0, still reported.
    let out = aggregate_gpus(&samples[2..], 2 * S, 3 * S);
    assert_eq!(stats(&out[0], e), &GpuStats::Counter { delta: 0.0 });
}

#[test]
fn single_value_gauge_has_zero_std_and_flat_percentiles() {
    let map = FieldMap::default();
    let id = gpu("node:9400", 0, "GPU-a", Vendor::Nvidia);
    let samples = vec![sample(&map, &id, 3 * S, &[("nvidia_temperature", 61.0)])];
    let out = aggregate_gpus(&samples, 0, 10 * S);
    let GpuStats::Gauge {
        std,
        percentiles,
        avg,
        count,
        ..
    } = stats(&out[0], "nvidia_temperature").clone()
    else {
        panic!("gauge");
    };
    assert_eq!((std, avg, count), (0.0, 61.0, 1));
    assert!(percentiles.iter().all(|&v| v == 61.0));
}

#[test]
fn count_is_scrapes_of_the_gpu_while_samples_counts_values() {
    let map = FieldMap::default();
    let id = gpu("node:9400", 0, "GPU-a", Vendor::Amd);
    let samples = vec![
        sample(
            &map,
            &id,
            S,
            &[("amd_power", 300.0), ("amd_temperature", 60.0)],
        ),
        // The temperature sensor failed in this scrape (amdsmi can do that).
        sample(&map, &id, 2 * S, &[("amd_power", 310.0)]),
    ];
    let out = aggregate_gpus(&samples, 0, 10 * S);
    let GpuStats::Gauge {
        count,
        samples: n,
        avg,
        ..
    } = stats(&out[0], "amd_temperature").clone()
    else {
        panic!("gauge");
    };
    // AIPerf's count is the GPU's scrapes in the window (2); one temperature value.
    assert_eq!((count, n, avg), (2, 1, 60.0));
}

#[test]
fn gpus_sorted_by_endpoint_then_numeric_index_and_kept_without_data() {
    let map = FieldMap::default();
    let t = "nvidia_temperature";
    let g10 = gpu("a:9400", 10, "GPU-10", Vendor::Nvidia);
    let g2 = gpu("a:9400", 2, "GPU-2", Vendor::Nvidia);
    let b0 = gpu("b:9400", 0, "GPU-b0", Vendor::Nvidia);
    let samples = vec![
        sample(&map, &b0, 2 * S, &[(t, 50.0)]),
        sample(&map, &g10, 2 * S, &[(t, 51.0)]),
        // GPU 2 was only seen before the window (e.g. warmup).
        sample(&map, &g2, S / 2, &[(t, 52.0)]),
    ];
    let out = aggregate_gpus(&samples, S, 3 * S);
    let order: Vec<(&str, u32)> = out
        .iter()
        .map(|s| (s.gpu.endpoint.as_str(), s.gpu.index))
        .collect();
    assert_eq!(order, [("a:9400", 2), ("a:9400", 10), ("b:9400", 0)]);
    assert!(out[0].metrics.is_empty());
    assert_eq!(out[1].metrics.len(), 1);
    // An inverted window keeps the GPUs but no metric.
    assert!(aggregate_gpus(&samples, 3 * S, S)
        .iter()
        .all(|s| s.metrics.is_empty()));
}

// ---------------------------------------------------------------- energy metrics

fn gauge(name: &str, unit: &str, avg: f64) -> GpuMetric {
    GpuMetric {
        name: name.into(),
        display: name.into(),
        unit: unit.into(),
        stats: GpuStats::Gauge {
            avg,
            min: avg,
            max: avg,
            std: 0.0,
            sum: avg,
            percentiles: [avg; 9],
            count: 1,
            samples: 1,
        },
    }
}

fn counter(name: &str, unit: &str, delta: f64) -> GpuMetric {
    GpuMetric {
        name: name.into(),
        display: name.into(),
        unit: unit.into(),
        stats: GpuStats::Counter { delta },
    }
}

fn nvidia_gpu(index: u32, metrics: Vec<GpuMetric>) -> GpuSummary {
    GpuSummary {
        gpu: gpu("node:9400", index, &format!("GPU-{index}"), Vendor::Nvidia),
        metrics,
    }
}

fn full_totals() -> ClientTotals {
    ClientTotals {
        requests: 10,
        input_tokens: 3000,
        output_tokens: 1000,
        duration_s: 2.0,
        concurrency: Some(4),
        avg_request_latency_ms: Some(800.0),
        request_throughput: Some(5.0),
        output_token_throughput: Some(500.0),
        goodput: Some(4.0),
    }
}

fn tags_and_values(metrics: &[EnergyMetric]) -> Vec<(&str, f64)> {
    metrics.iter().map(|m| (m.tag.as_str(), m.value)).collect()
}

fn assert_metrics(actual: &[EnergyMetric], expected: &[(&str, f64)]) {
    let tags: Vec<&str> = actual.iter().map(|m| m.tag.as_str()).collect();
    let expected_tags: Vec<&str> = expected.iter().map(|(t, _)| *t).collect();
    assert_eq!(tags, expected_tags, "{:?}", tags_and_values(actual));
    for (m, (_, value)) in actual.iter().zip(expected) {
        close(m.value, *value);
    }
}

#[test]
fn every_energy_metric_from_the_energy_counter() {
    // 2 GPUs, energy deltas 0.00025 MJ = 250 J each -> 500 J; power averages 240 + 260 W.
    let gpus = vec![
        nvidia_gpu(
            0,
            vec![
                gauge("nvidia_power_usage", "W", 240.0),
                counter("nvidia_energy_consumption", "MJ", 0.00025),
            ],
        ),
        nvidia_gpu(
            1,
            vec![
                gauge("nvidia_power_usage", "W", 260.0),
                counter("nvidia_energy_consumption", "MJ", 0.00025),
            ],
        ),
    ];
    let out = energy_metrics(&gpus, &full_totals());
    assert_metrics(
        &out,
        &[
            ("nvidia_total_gpu_power", 500.0),         // 240 + 260 W
            ("nvidia_average_gpu_power", 250.0),       // 500 J / 2 s
            ("nvidia_total_gpu_energy", 500.0),        // 250 + 250 J
            ("nvidia_output_tokens_per_joule", 2.0),   // 1000 tokens / 500 J
            ("nvidia_energy_per_output_token", 500.0), // 500 J * 1000 / 1000 tokens (mJ)
            ("nvidia_energy_per_total_token", 125.0),  // 500 J * 1000 / 4000 tokens
            ("nvidia_energy_per_request", 50.0),       // 500 J / 10 requests
            ("nvidia_energy_per_user", 125.0),         // 500 J / concurrency 4
            ("nvidia_energy_delay_product", 40.0),     // 50 J * 0.8 s
            ("nvidia_performance_per_watt", 0.02),     // 5 req/s / 250 W
            ("nvidia_output_tps_per_watt", 2.0),       // 500 tokens/s / 250 W
            ("nvidia_goodput_per_watt", 0.016),        // 4 req/s / 250 W
        ],
    );
    let by_tag = |tag: &str| out.iter().find(|m| m.tag == tag).unwrap();
    let epot = by_tag("nvidia_energy_per_output_token");
    assert_eq!(
        (epot.header.as_str(), epot.unit.as_str(), epot.display_order),
        ("Energy per Output Token", "mJ/token", 750)
    );
    let edp = by_tag("nvidia_energy_delay_product");
    assert_eq!(
        (edp.header.as_str(), edp.unit.as_str(), edp.display_order),
        ("Energy Delay Product", "J*s", 700)
    );
    let ppw = by_tag("nvidia_performance_per_watt");
    assert_eq!(
        (ppw.header.as_str(), ppw.unit.as_str()),
        ("Performance per Watt", "requests/sec/W")
    );
    let tps = by_tag("nvidia_output_tps_per_watt");
    assert_eq!(
        (tps.header.as_str(), tps.unit.as_str()),
        ("Output Tokens per Second per Watt", "tokens/sec/W")
    );
    assert_eq!(by_tag("nvidia_goodput_per_watt").unit, "good-req/s/W");
    assert_eq!(by_tag("nvidia_energy_per_request").unit, "joules/request");
    assert_eq!(by_tag("nvidia_energy_per_user").unit, "joules/user");
    assert_eq!(by_tag("nvidia_output_tokens_per_joule").unit, "tokens/J");
    assert_eq!(by_tag("nvidia_total_gpu_energy").unit, "J");
    assert_eq!(by_tag("nvidia_total_gpu_power").header, "Total GPU Power");
}

#[test]
fn power_times_duration_without_an_energy_counter() {
    // pynvml/amdsmi-like: power only. 150 + 250 = 400 W for 2.5 s = 1000 J.
    let gpus = vec![
        nvidia_gpu(0, vec![gauge("nvidia_power_usage", "W", 150.0)]),
        nvidia_gpu(1, vec![gauge("nvidia_power_usage", "W", 250.0)]),
    ];
    let totals = ClientTotals {
        requests: 20,
        output_tokens: 2000,
        duration_s: 2.5,
        ..ClientTotals::default()
    };
    assert_metrics(
        &energy_metrics(&gpus, &totals),
        &[
            ("nvidia_total_gpu_power", 400.0),
            ("nvidia_average_gpu_power", 400.0), // the fleet power itself
            ("nvidia_total_gpu_energy", 1000.0), // 400 W * 2.5 s
            ("nvidia_output_tokens_per_joule", 2.0), // 2000 / 1000
            ("nvidia_energy_per_output_token", 500.0), // 1000 * 1000 / 2000
            ("nvidia_energy_per_total_token", 500.0), // no input tokens: 2000 total
            ("nvidia_energy_per_request", 50.0), // 1000 / 20
        ],
    );
}

#[test]
fn zero_energy_delta_falls_back_to_power() {
    // Counter did not move (e.g. one scrape): AIPerf requires energy > 0 for the counter.
    let gpus = vec![nvidia_gpu(
        0,
        vec![
            gauge("nvidia_power_usage", "W", 100.0),
            counter("nvidia_energy_consumption", "MJ", 0.0),
        ],
    )];
    let totals = ClientTotals {
        duration_s: 3.0,
        ..ClientTotals::default()
    };
    assert_metrics(
        &energy_metrics(&gpus, &totals),
        &[
            ("nvidia_total_gpu_power", 100.0),
            ("nvidia_average_gpu_power", 100.0),
            ("nvidia_total_gpu_energy", 300.0), // 100 W * 3 s
        ],
    );
}

#[test]
fn zero_denominators_leave_metrics_out() {
    let gpus = vec![nvidia_gpu(
        0,
        vec![counter("nvidia_energy_consumption", "MJ", 0.001)],
    )];
    // No tokens, requests, concurrency, latency, throughputs; duration 0.
    let out = energy_metrics(&gpus, &ClientTotals::default());
    // No power gauge -> no total power; duration 0 -> no average power, no per-watt.
    assert_metrics(&out, &[("nvidia_total_gpu_energy", 1000.0)]); // 0.001 MJ
    assert!(out.iter().all(|m| m.value.is_finite()));

    // A zero throughput is a valid 0 per watt (only a missing one is left out).
    let totals = ClientTotals {
        duration_s: 4.0,
        concurrency: Some(0),
        avg_request_latency_ms: Some(100.0), // no requests -> no energy per request -> no EDP
        request_throughput: Some(0.0),
        ..ClientTotals::default()
    };
    assert_metrics(
        &energy_metrics(&gpus, &totals),
        &[
            ("nvidia_average_gpu_power", 250.0), // 1000 J / 4 s
            ("nvidia_total_gpu_energy", 1000.0),
            ("nvidia_performance_per_watt", 0.0),
        ],
    );
}

#[test]
fn nothing_without_power_or_energy_and_only_total_power_without_duration() {
    let temp_only = vec![nvidia_gpu(0, vec![gauge("nvidia_temperature", "°C", 50.0)])];
    assert!(energy_metrics(&temp_only, &full_totals()).is_empty());
    let power_only = vec![nvidia_gpu(0, vec![gauge("nvidia_power_usage", "W", 100.0)])];
    let totals = ClientTotals {
        duration_s: 0.0,
        ..full_totals()
    };
    assert_metrics(
        &energy_metrics(&power_only, &totals),
        &[("nvidia_total_gpu_power", 100.0)],
    );
}

#[test]
fn amd_and_nvidia_each_get_their_twelve_metrics_amd_first() {
    let amd = GpuSummary {
        gpu: gpu("localhost", 0, "amd-0", Vendor::Amd),
        metrics: vec![
            gauge("amd_power", "W", 500.0),
            counter("amd_energy_consumption", "MJ", 0.002), // 2000 J
        ],
    };
    let nvidia = nvidia_gpu(
        0,
        vec![
            gauge("nvidia_power_usage", "W", 100.0),
            counter("nvidia_energy_consumption", "MJ", 0.0005), // 500 J
        ],
    );
    let out = energy_metrics(&[nvidia, amd], &full_totals());
    assert_eq!(out.len(), 24);
    assert!(out[..12]
        .iter()
        .all(|m| m.tag.starts_with("amd_") && m.display_order >= 800));
    assert!(out[12..]
        .iter()
        .all(|m| m.tag.starts_with("nvidia_") && m.display_order < 800));
    let value = |tag: &str| out.iter().find(|m| m.tag == tag).unwrap().value;
    close(value("amd_total_gpu_energy"), 2000.0);
    close(value("amd_average_gpu_power"), 1000.0); // 2000 J / 2 s
    close(value("amd_energy_per_output_token"), 2000.0); // 2000 J * 1000 / 1000 tokens
    close(value("nvidia_total_gpu_energy"), 500.0);
    close(value("nvidia_output_tokens_per_joule"), 2.0); // 1000 / 500
}

#[test]
fn windowed_energy_uses_the_grace_period_for_energy_only() {
    let map = FieldMap::default();
    let id = gpu("node:9400", 0, "GPU-a", Vendor::Nvidia);
    let p = "nvidia_power_usage";
    let e = "nvidia_energy_consumption";
    let ms = 1_000_000;
    let samples = vec![
        sample(&map, &id, 9 * S, &[(p, 100.0), (e, 1.000)]), // baseline
        sample(&map, &id, 10 * S, &[(p, 200.0), (e, 1.001)]),
        sample(&map, &id, 20 * S, &[(p, 300.0), (e, 1.002)]),
        // Exactly at end + 666 ms: still in the energy window (inclusive).
        sample(&map, &id, 20 * S + 666 * ms, &[(p, 900.0), (e, 1.003)]),
        sample(&map, &id, 20 * S + 667 * ms, &[(p, 900.0), (e, 1.009)]), // past the grace
    ];
    let totals = ClientTotals {
        duration_s: 10.0,
        ..ClientTotals::default()
    };
    // Energy: 1.003 - 1.000 = 0.003 MJ = 3000 J; power over [10 s, 20 s]: (200 + 300) / 2.
    assert_metrics(
        &energy_metrics_for_window(&samples, 10 * S, 20 * S, &totals),
        &[
            ("nvidia_total_gpu_power", 250.0),
            ("nvidia_average_gpu_power", 300.0), // 3000 J / 10 s
            ("nvidia_total_gpu_energy", 3000.0),
        ],
    );
    // Duration 0: falls back to the span of all samples, 9 s .. 20.667 s = 11.667 s.
    let totals = ClientTotals::default();
    let out = energy_metrics_for_window(&samples, 10 * S, 20 * S, &totals);
    assert_eq!(out[1].tag, "nvidia_average_gpu_power");
    close(out[1].value, 3000.0 / 11.667);
}

// ------------------------------------------------ AMD Device Metrics Exporter pages

const AMD_PAGE: &str = include_str!("fixtures/amd_device_metrics_exporter.txt");
const AMD_URL: &str = "http://mi300x-node-07:5000/metrics";

fn amd_samples_of(text: &str, t_ns: u64) -> Vec<GpuSample> {
    let page = parse(text).expect("AMD page parses");
    gpu_samples(AMD_URL, &page, t_ns, &FieldMap::default())
}

fn names_and_values(sample: &GpuSample) -> Vec<(&str, f64)> {
    sample
        .values
        .iter()
        .map(|v| (v.metric.name.as_str(), v.value))
        .collect()
}

fn assert_values(sample: &GpuSample, expected: &[(&str, f64)]) {
    let actual = names_and_values(sample);
    let names: Vec<&str> = actual.iter().map(|(n, _)| *n).collect();
    let expected_names: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, expected_names, "{actual:?}");
    for ((_, got), (_, want)) in actual.iter().zip(expected) {
        close(*got, *want);
    }
}

#[test]
fn amd_exporter_page_gives_amd_samples_with_identity() {
    let samples = amd_samples_of(AMD_PAGE, 7 * S);
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[0].source_url, AMD_URL);
    assert_eq!(
        samples[0].gpu,
        GpuId {
            endpoint: "mi300x-node-07:5000".into(),
            index: 0,
            // No gpu_uuid label (optional, off by default): the card's serial number.
            uuid: "692251001124".into(),
            name: "MI300X".into(),
            hostname: Some("mi300x-node-07".into()),
            pci_bus_id: None,
            device: None,
            namespace: Some("llm-serving".into()),
            pod_name: Some("vllm-0".into()),
            vendor: Vendor::Amd,
        }
    );
    let gpu1 = &samples[1].gpu;
    assert_eq!((gpu1.index, gpu1.uuid.as_str()), (1, "692251001207"));
    // Outside Kubernetes the exporter sends namespace="" and pod="": not a pod.
    assert_eq!((&gpu1.namespace, &gpu1.pod_name), (&None, &None));
    assert_eq!(gpu1.vendor, Vendor::Amd);
    assert_eq!(telemetry_json_key(gpu1), "gpu_1");
}

#[test]
fn amd_exporter_values_are_scaled_to_aiperf_units_in_config_order() {
    let samples = amd_samples_of(AMD_PAGE, 7 * S);
    assert_values(
        &samples[0],
        &[
            ("amd_power", 705.0), // gpu_power_usage, preferred over gpu_package_power 702
            ("amd_energy_consumption", 15.0), // 1.5e13 µJ * 1e-12 = 15 MJ
            ("amd_gfx_activity", 87.0),
            ("amd_umc_activity", 35.0),
            ("amd_memory_used", 157.2864), // 150000 MiB * 1.048576e-3 GB/MiB
            ("amd_temperature", 64.0),     // junction
            ("amd_ecc_uncorrectable", 0.0), // gpu_ecc_uncorrect_total
        ],
    );
    assert_values(
        &samples[1],
        &[
            ("amd_power", 140.0),
            ("amd_energy_consumption", 22.5), // 2.25e13 µJ
            ("amd_gfx_activity", 12.0),
            ("amd_umc_activity", 2.0),
            ("amd_memory_used", 0.297795584), // 284 * 1.048576e-3
            ("amd_temperature", 41.0),
            ("amd_ecc_uncorrectable", 3.0),
        ],
    );
    let kinds: Vec<MetricKind> = samples[0].values.iter().map(|v| v.metric.kind).collect();
    use MetricKind::{Counter, Gauge};
    assert_eq!(
        kinds,
        [Gauge, Counter, Gauge, Gauge, Gauge, Gauge, Counter],
        "energy and ECC are counters although the page types them gauge"
    );
}

#[test]
fn amd_field_map_entries() {
    let map = FieldMap::default();
    let mapped = |source: &str| {
        let f = map.source(source).expect(source);
        (f.metric.name.as_str(), f.scale)
    };
    assert_eq!(mapped("gpu_power_usage"), ("amd_power", 1.0));
    assert_eq!(mapped("gpu_package_power"), ("amd_power", 1.0));
    assert_eq!(mapped("gpu_average_package_power"), ("amd_power", 1.0));
    assert_eq!(
        mapped("gpu_energy_consumed"),
        ("amd_energy_consumption", 1e-12)
    );
    assert_eq!(mapped("gpu_used_vram"), ("amd_memory_used", 1.048576e-3));
    assert_eq!(mapped("gpu_mma_activity"), ("amd_mm_activity", 1.0));
    assert_eq!(mapped("gpu_edge_temperature"), ("amd_temperature", 1.0));
    assert_eq!(
        mapped("gpu_ecc_uncorrect_total"),
        ("amd_ecc_uncorrectable", 1.0)
    );
    // DCGM mapping untouched: still the first 11 sources.
    assert_eq!(map.sources()[0].source, "DCGM_FI_DEV_POWER_USAGE");
    assert_eq!(map.sources()[10].source, "DCGM_FI_DEV_POWER_VIOLATION");
    assert_eq!(map.sources().len(), 11 + 11);
}

/// An AMD exporter line with the given labels (sorted as the exporter writes them).
fn amd_line(name: &str, labels: &[(&str, &str)], value: &str) -> String {
    let mut labels = labels.to_vec();
    labels.sort();
    let body: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}} {value}\n", body.join(","))
}

#[test]
fn amd_preferred_fields_win_whatever_the_page_order() {
    let l = [
        ("gpu_id", "0"),
        ("serial_number", "SN0"),
        ("card_model", "MI210"),
    ];
    // Fallback fields written after the preferred ones: "last wins" would pick them.
    let page = [
        amd_line("gpu_power_usage", &l, "300"),
        amd_line("gpu_package_power", &l, "310"),
        amd_line("gpu_average_package_power", &l, "320"),
        amd_line("gpu_junction_temperature", &l, "70"),
        amd_line("gpu_edge_temperature", &l, "50"),
        amd_line("gpu_mma_activity", &l, "4"),
    ]
    .concat();
    let samples = amd_samples_of(&page, 0);
    assert_values(
        &samples[0],
        &[
            ("amd_power", 300.0),
            ("amd_mm_activity", 4.0),
            ("amd_temperature", 70.0),
        ],
    );
    // Without the preferred fields (hypervisor host: no gpu_power_usage; MI2xx: edge only).
    let page = [
        amd_line("gpu_average_package_power", &l, "320"),
        amd_line("gpu_package_power", &l, "310"),
        amd_line("gpu_edge_temperature", &l, "50"),
    ]
    .concat();
    assert_values(
        &amd_samples_of(&page, 0)[0],
        &[("amd_power", 310.0), ("amd_temperature", 50.0)],
    );
}

#[test]
fn amd_identity_fallbacks() {
    let page = [
        // gpu_uuid (optional label) wins over the serial number; card_model empty (as
        // on an SR-IOV guest) -> card_series.
        amd_line(
            "gpu_power_usage",
            &[
                ("gpu_id", "0"),
                ("gpu_uuid", "17ff74b5-0000-1000-805c-37b0fbe69430"),
                ("serial_number", "SN0"),
                ("card_model", ""),
                ("card_series", "Aqua Vanjaram [Instinct MI300X VF]"),
                ("hostname", ""),
            ],
            "100",
        ),
        // No uuid, no serial, no model: AIPerf's amdsmi fallbacks.
        amd_line(
            "gpu_power_usage",
            &[("gpu_id", "1"), ("serial_number", ""), ("card_model", "")],
            "101",
        ),
        // Compute partitions share the card's serial: partition k > 0 is suffixed.
        amd_line(
            "gpu_power_usage",
            &[
                ("gpu_id", "8"),
                ("serial_number", "SN8"),
                ("gpu_partition_id", "0"),
            ],
            "102",
        ),
        amd_line(
            "gpu_power_usage",
            &[
                ("gpu_id", "9"),
                ("serial_number", "SN8"),
                ("gpu_partition_id", "1"),
            ],
            "0",
        ),
        amd_line(
            "gpu_power_usage",
            &[
                ("gpu_id", "10"),
                ("serial_number", "SN10"),
                ("gpu_partition_id", "NA"),
            ],
            "103",
        ),
        // No gpu_id, or a non-integer one: not a GPU value.
        amd_line("gpu_power_usage", &[("serial_number", "SN11")], "104"),
        amd_line("gpu_power_usage", &[("gpu_id", "x")], "105"),
        // Unmapped field of a new GPU: no sample for it.
        amd_line(
            "gpu_clock",
            &[("gpu_id", "12"), ("clock_type", "soc")],
            "900",
        ),
    ]
    .concat();
    let samples = amd_samples_of(&page, 0);
    let ids: Vec<(u32, &str, &str, Option<&str>)> = samples
        .iter()
        .map(|s| {
            let g = &s.gpu;
            (
                g.index,
                g.uuid.as_str(),
                g.name.as_str(),
                g.hostname.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            (
                0,
                "17ff74b5-0000-1000-805c-37b0fbe69430",
                "Aqua Vanjaram [Instinct MI300X VF]",
                None
            ),
            (1, "GPU-unknown-1", "Unknown AMD GPU", None),
            (8, "SN8", "Unknown AMD GPU", None),
            (9, "SN8-partition-1", "Unknown AMD GPU", None),
            (10, "SN10", "Unknown AMD GPU", None),
        ]
    );
    assert!(samples.iter().all(|s| s.gpu.vendor == Vendor::Amd));
}

#[test]
fn amd_names_and_dcgm_pages_stay_apart() {
    // An AMD field name with a DCGM `gpu` label is not an AMD value, and DCGM rules apply
    // to it (no UUID/modelName -> AIPerf drops the page).
    let page = "gpu_power_usage{gpu=\"0\",UUID=\"GPU-1\",modelName=\"H100\"} 300\n";
    assert!(amd_samples_of(page, 0).is_empty());
    // A DCGM field with only a `gpu_id` label is not read either.
    let page = "DCGM_FI_DEV_POWER_USAGE{gpu_id=\"0\"} 300\n";
    assert!(amd_samples_of(page, 0).is_empty());
    // The DCGM fixture gives exactly what it gave before: NVIDIA GPUs only.
    let samples = samples_of(DCGM_PAGE, &FieldMap::default());
    assert!(samples.iter().all(|s| s.gpu.vendor == Vendor::Nvidia));
}

/// The fixture page with GPU 0's and GPU 1's power (W), energy (µJ) and uncorrectable ECC
/// total replaced.
fn amd_scrape(power: [&str; 2], energy_uj: [&str; 2], ecc: [&str; 2]) -> Vec<String> {
    let mut lines: Vec<String> = AMD_PAGE.lines().map(str::to_string).collect();
    for line in lines.iter_mut().filter(|l| !l.starts_with('#')) {
        let gpu = usize::from(line.contains("gpu_id=\"1\""));
        let replacement = if line.starts_with("gpu_power_usage{") {
            power[gpu]
        } else if line.starts_with("gpu_energy_consumed{") {
            energy_uj[gpu]
        } else if line.starts_with("gpu_ecc_uncorrect_total{") {
            ecc[gpu]
        } else {
            continue;
        };
        let (series, _) = line.rsplit_once(' ').unwrap();
        *line = format!("{series} {replacement}");
    }
    lines
}

/// Three scrapes of the AMD fixture: 9 s (before the window: the counters' baseline),
/// 15 s and 20 s, summarised over [10 s, 20 s].
fn amd_three_scrapes() -> Vec<GpuSummary> {
    let scrapes = [
        (
            9 * S,
            amd_scrape(["600", "100"], ["1.5e+13", "2.25e+13"], ["0", "3"]),
        ),
        (
            15 * S,
            amd_scrape(["700", "140"], ["1.5003e+13", "2.2502e+13"], ["0", "3"]),
        ),
        (
            20 * S,
            amd_scrape(["720", "160"], ["1.5006e+13", "2.2504e+13"], ["0", "5"]),
        ),
    ];
    let samples: Vec<GpuSample> = scrapes
        .iter()
        .flat_map(|(t, lines)| amd_samples_of(&(lines.join("\n") + "\n"), *t))
        .collect();
    assert_eq!(samples.len(), 6);
    aggregate_gpus(&samples, 10 * S, 20 * S)
}

#[test]
fn amd_aggregation_over_three_scrapes() {
    let gpus = amd_three_scrapes();
    assert_eq!(gpus.len(), 2);
    assert_eq!(
        (gpus[0].gpu.index, gpus[1].gpu.index, gpus[0].gpu.vendor),
        (0, 1, Vendor::Amd)
    );
    let delta = |g: &GpuSummary, name: &str| match stats(g, name) {
        GpuStats::Counter { delta } => *delta,
        other => panic!("{name} is not a counter: {other:?}"),
    };
    // GPU 0: 1.5006e13 - 1.5e13 µJ (baseline at 9 s) = 6e9 µJ = 0.006 MJ = 6000 J.
    close(delta(&gpus[0], "amd_energy_consumption"), 0.006);
    // GPU 1: 2.2504e13 - 2.25e13 µJ = 4e9 µJ = 0.004 MJ.
    close(delta(&gpus[1], "amd_energy_consumption"), 0.004);
    // ECC: GPU 0 stays 0; GPU 1 goes 3 -> 5.
    close(delta(&gpus[0], "amd_ecc_uncorrectable"), 0.0);
    close(delta(&gpus[1], "amd_ecc_uncorrectable"), 2.0);
    // Power gauge over the window: GPU 0 [700, 720] (600 at 9 s is outside).
    let GpuStats::Gauge {
        avg,
        min,
        max,
        std,
        count,
        ..
    } = stats(&gpus[0], "amd_power").clone()
    else {
        panic!("amd_power is a gauge");
    };
    close(avg, 710.0);
    assert_eq!((min, max, count), (700.0, 720.0, 2));
    close(std, 200f64.sqrt()); // ((-10)^2 + 10^2) / (2 - 1) = 200
    let GpuStats::Gauge { avg, .. } = stats(&gpus[1], "amd_power").clone() else {
        panic!("amd_power is a gauge");
    };
    close(avg, 150.0); // (140 + 160) / 2
                       // Unchanged gauges keep their scaled value.
    let GpuStats::Gauge { avg, .. } = stats(&gpus[0], "amd_memory_used").clone() else {
        panic!("amd_memory_used is a gauge");
    };
    close(avg, 157.2864);
}

#[test]
fn amd_power_efficiency_metrics_from_three_scrapes() {
    let gpus = amd_three_scrapes();
    let totals = ClientTotals {
        requests: 100,
        input_tokens: 15_000,
        output_tokens: 5_000,
        duration_s: 10.0,
        concurrency: Some(8),
        avg_request_latency_ms: Some(2000.0),
        request_throughput: Some(10.0),
        output_token_throughput: Some(500.0),
        goodput: Some(9.0),
    };
    let out = energy_metrics(&gpus, &totals);
    // Energy: 6000 J + 4000 J = 10000 J; power: 710 W + 150 W = 860 W.
    assert_metrics(
        &out,
        &[
            ("amd_total_gpu_power", 860.0),          // 710 + 150 W
            ("amd_average_gpu_power", 1000.0),       // 10000 J / 10 s
            ("amd_total_gpu_energy", 10000.0),       // 6000 + 4000 J
            ("amd_output_tokens_per_joule", 0.5),    // 5000 tokens / 10000 J
            ("amd_energy_per_output_token", 2000.0), // 10000 J * 1000 / 5000 tokens (mJ)
            ("amd_energy_per_total_token", 500.0),   // 10000 J * 1000 / 20000 tokens
            ("amd_energy_per_request", 100.0),       // 10000 J / 100 requests
            ("amd_energy_per_user", 1250.0),         // 10000 J / concurrency 8
            ("amd_energy_delay_product", 200.0),     // 100 J * 2 s
            ("amd_performance_per_watt", 0.01),      // 10 req/s / 1000 W
            ("amd_output_tps_per_watt", 0.5),        // 500 tokens/s / 1000 W
            ("amd_goodput_per_watt", 0.009),         // 9 req/s / 1000 W
        ],
    );
    assert!(out.iter().all(|m| m.display_order >= 800));
}
