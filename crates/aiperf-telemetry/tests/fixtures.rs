//! Each fixture page parsed, with families, kinds, labels and bucket counts written out
//! by reading the fixture text.

use aiperf_telemetry::{parse, Family, MetricType, Page};
use MetricType::{Counter as C, Gauge as G, Histogram as H, Summary as S, Untyped as U};

fn page(text: &str) -> Page {
    parse(text).unwrap_or_else(|e| panic!("fixture must parse: {e}"))
}

fn fam<'a>(p: &'a Page, name: &str) -> &'a Family {
    p.family(name)
        .unwrap_or_else(|| panic!("family {name} missing"))
}

fn shape(p: &Page) -> Vec<(&str, MetricType, usize)> {
    p.families
        .iter()
        .map(|f| (f.name.as_str(), f.kind, f.samples.len()))
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn les_counts(les: &[f64], counts: &[f64]) -> Vec<(f64, f64)> {
    les.iter().copied().zip(counts.iter().copied()).collect()
}

const INF: f64 = f64::INFINITY;
const LLAMA: (&str, &str) = ("model_name", "meta-llama/Llama-3.1-8B-Instruct");

#[test]
fn vllm_page_families_and_values() {
    let p = page(include_str!("fixtures/vllm.txt"));
    assert_eq!(
        shape(&p),
        vec![
            ("python_gc_objects_collected_total", C, 3),
            ("python_gc_objects_uncollectable_total", C, 3),
            ("python_gc_collections_total", C, 3),
            ("python_info", G, 1),
            ("process_virtual_memory_bytes", G, 1),
            ("process_resident_memory_bytes", G, 1),
            ("process_start_time_seconds", G, 1),
            ("process_cpu_seconds_total", C, 1),
            ("process_open_fds", G, 1),
            ("process_max_fds", G, 1),
            ("vllm:num_requests_running", G, 1),
            ("vllm:num_requests_waiting", G, 1),
            ("vllm:gpu_cache_usage_perc", G, 1),
            ("vllm:kv_cache_usage_perc", G, 1),
            ("vllm:num_preemptions_total", C, 1),
            ("vllm:prompt_tokens_total", C, 1),
            ("vllm:generation_tokens_total", C, 1),
            ("vllm:request_success_total", C, 3),
            ("vllm:time_to_first_token_seconds", H, 19),
            ("vllm:e2e_request_latency_seconds", H, 24),
        ]
    );
    // Every `*_created` family (gauges emitted by prometheus_client) is dropped.
    assert!(p.families.iter().all(|f| !f.name.ends_with("_created")));

    let running = fam(&p, "vllm:num_requests_running");
    assert_eq!(
        running.help.as_deref(),
        Some("Number of requests in model execution batches.")
    );
    assert_eq!(running.samples[0].name, "vllm:num_requests_running");
    assert_eq!(running.samples[0].labels, labels(&[LLAMA, ("engine", "0")]));
    assert_eq!(running.samples[0].value, 12.0);
    assert_eq!(running.samples[0].timestamp_ms, None);
    assert_eq!(fam(&p, "vllm:num_requests_waiting").samples[0].value, 3.0);
    assert_eq!(
        fam(&p, "vllm:gpu_cache_usage_perc").samples[0].value,
        0.4375
    );
    assert_eq!(fam(&p, "vllm:kv_cache_usage_perc").samples[0].value, 0.4375);
    assert_eq!(
        fam(&p, "vllm:prompt_tokens_total").samples[0].value,
        51200.0
    );
    assert_eq!(
        fam(&p, "vllm:generation_tokens_total").samples[0].value,
        12800.0
    );
    assert_eq!(fam(&p, "vllm:num_preemptions_total").samples[0].value, 2.0);
    assert_eq!(
        fam(&p, "process_virtual_memory_bytes").samples[0].value,
        12_884_901_888.0
    );
    assert_eq!(fam(&p, "process_max_fds").samples[0].value, 1_048_576.0);
    assert_eq!(
        fam(&p, "python_info").samples[0].labels,
        labels(&[
            ("implementation", "CPython"),
            ("major", "3"),
            ("minor", "12"),
            ("patchlevel", "3"),
            ("version", "3.12.3"),
        ])
    );

    let success = fam(&p, "vllm:request_success_total");
    let by_reason: Vec<(&str, f64)> = success
        .samples
        .iter()
        .map(|s| (s.label("finished_reason").unwrap(), s.value))
        .collect();
    assert_eq!(
        by_reason,
        vec![("stop", 95.0), ("length", 5.0), ("abort", 0.0)]
    );

    let ttft = fam(&p, "vllm:time_to_first_token_seconds").buckets();
    assert_eq!(ttft.len(), 1);
    assert_eq!(ttft[0].labels, labels(&[LLAMA, ("engine", "0")]));
    assert_eq!(
        ttft[0].buckets,
        les_counts(
            &[
                0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                7.5, 10.0, INF
            ],
            &[
                0.0, 0.0, 0.0, 2.0, 10.0, 25.0, 40.0, 55.0, 80.0, 95.0, 98.0, 100.0, 100.0, 100.0,
                100.0, 100.0, 100.0
            ]
        )
    );
    assert_eq!(ttft[0].sum, Some(8.25));
    assert_eq!(ttft[0].count, Some(100.0));

    let e2e = fam(&p, "vllm:e2e_request_latency_seconds").buckets();
    let les = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, INF];
    assert_eq!(e2e.len(), 2);
    assert_eq!(e2e[0].labels, labels(&[LLAMA, ("engine", "0")]));
    assert_eq!(
        e2e[0].buckets,
        les_counts(
            &les,
            &[0.0, 1.0, 4.0, 10.0, 30.0, 60.0, 80.0, 98.0, 100.0, 100.0]
        )
    );
    assert_eq!((e2e[0].sum, e2e[0].count), (Some(175.5), Some(100.0)));
    assert_eq!(e2e[1].labels, labels(&[LLAMA, ("engine", "1")]));
    assert_eq!(
        e2e[1].buckets,
        les_counts(
            &les,
            &[0.0, 0.0, 2.0, 5.0, 20.0, 40.0, 60.0, 70.0, 71.0, 72.0]
        )
    );
    assert_eq!((e2e[1].sum, e2e[1].count), (Some(140.0), Some(72.0)));
}

#[test]
fn sglang_page_families_and_values() {
    let p = page(include_str!("fixtures/sglang.txt"));
    assert_eq!(
        shape(&p),
        vec![
            ("sglang:num_running_reqs", G, 1),
            ("sglang:num_used_tokens", G, 1),
            ("sglang:token_usage", G, 1),
            ("sglang:gen_throughput", G, 1),
            ("sglang:num_queue_reqs", G, 1),
            ("sglang:cache_hit_rate", G, 1),
            ("sglang:prompt_tokens_total", C, 1),
            ("sglang:generation_tokens_total", C, 1),
            ("sglang:num_requests_total", C, 1),
            ("sglang:time_to_first_token_seconds", H, 14),
            ("sglang:inter_token_latency_seconds", H, 9),
        ]
    );
    let qwen = labels(&[("model_name", "Qwen/Qwen2.5-7B-Instruct")]);
    let running = &fam(&p, "sglang:num_running_reqs").samples[0];
    assert_eq!((running.labels.clone(), running.value), (qwen.clone(), 8.0));
    assert_eq!(fam(&p, "sglang:token_usage").samples[0].value, 0.12);
    assert_eq!(fam(&p, "sglang:cache_hit_rate").samples[0].value, 0.65);
    assert_eq!(fam(&p, "sglang:gen_throughput").samples[0].value, 512.3);
    assert_eq!(
        fam(&p, "sglang:prompt_tokens_total").samples[0].value,
        100000.0
    );

    let ttft = fam(&p, "sglang:time_to_first_token_seconds").buckets();
    assert_eq!(ttft.len(), 1);
    assert_eq!(ttft[0].labels, qwen);
    assert_eq!(
        ttft[0].buckets,
        les_counts(
            &[0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, INF],
            &[5.0, 20.0, 60.0, 110.0, 150.0, 170.0, 190.0, 198.0, 200.0, 200.0, 200.0, 200.0]
        )
    );
    assert_eq!((ttft[0].sum, ttft[0].count), (Some(95.2), Some(200.0)));

    let itl = fam(&p, "sglang:inter_token_latency_seconds").buckets();
    assert_eq!(
        itl[0].buckets,
        les_counts(
            &[0.002, 0.005, 0.01, 0.02, 0.05, 0.1, INF],
            &[100.0, 2000.0, 20000.0, 24500.0, 24900.0, 24990.0, 25000.0]
        )
    );
    assert_eq!((itl[0].sum, itl[0].count), (Some(310.5), Some(25000.0)));
}

#[test]
fn trtllm_page_families_and_values() {
    let p = page(include_str!("fixtures/trtllm.txt"));
    assert_eq!(
        shape(&p),
        vec![
            ("trtllm_request_success_total", C, 2),
            ("trtllm_e2e_request_latency_seconds", H, 8),
            ("trtllm_time_to_first_token_seconds", H, 7),
            ("trtllm_time_per_output_token_seconds", H, 6),
            ("trtllm_request_queue_time_seconds", H, 6),
            ("trtllm_kv_cache_hit_rate", G, 1),
            ("trtllm_kv_cache_utilization", G, 1),
        ]
    );
    let t = [
        ("engine_type", "trtllm"),
        ("model_name", "nvidia/Llama-3.1-8B-Instruct-FP8"),
    ];
    let success = &fam(&p, "trtllm_request_success_total").samples;
    assert_eq!(
        success[1].labels,
        labels(&[t[0], t[1], ("finished_reason", "length")])
    );
    assert_eq!((success[0].value, success[1].value), (48.0, 16.0));
    let e2e = fam(&p, "trtllm_e2e_request_latency_seconds").buckets();
    assert_eq!(e2e[0].labels, labels(&t));
    assert_eq!(
        e2e[0].buckets,
        les_counts(
            &[0.3, 0.5, 1.0, 2.5, 5.0, INF],
            &[0.0, 4.0, 30.0, 60.0, 64.0, 64.0]
        )
    );
    assert_eq!((e2e[0].sum, e2e[0].count), (Some(72.8), Some(64.0)));
    let tpot = fam(&p, "trtllm_time_per_output_token_seconds").buckets();
    assert_eq!(
        tpot[0].buckets,
        les_counts(&[0.005, 0.01, 0.025, INF], &[10.0, 50.0, 63.0, 64.0])
    );
    assert_eq!(fam(&p, "trtllm_kv_cache_hit_rate").samples[0].value, 0.25);
    assert_eq!(fam(&p, "trtllm_kv_cache_utilization").samples[0].value, 0.5);
}

#[test]
fn dynamo_page_families_and_values() {
    let p = page(include_str!("fixtures/dynamo.txt"));
    assert_eq!(
        shape(&p),
        vec![
            ("dynamo_frontend_inflight_requests", G, 1),
            ("dynamo_frontend_queued_requests", G, 1),
            ("dynamo_frontend_requests_total", C, 3),
            ("dynamo_frontend_time_to_first_token_seconds", H, 14),
            ("dynamo_frontend_inter_token_latency_seconds", H, 7),
            ("dynamo_frontend_input_sequence_tokens", H, 7),
        ]
    );
    assert_eq!(
        fam(&p, "dynamo_frontend_inflight_requests").samples[0].value,
        4.0
    );
    let reqs = &fam(&p, "dynamo_frontend_requests_total").samples;
    assert_eq!(
        reqs[1].labels,
        labels(&[
            ("endpoint", "chat_completions"),
            ("model", "qwen/qwen3-0.6b"),
            ("request_type", "stream"),
            ("status", "error"),
        ])
    );
    assert_eq!(
        reqs.iter().map(|s| s.value).collect::<Vec<_>>(),
        vec![310.0, 2.0, 17.0]
    );
    let ttft = fam(&p, "dynamo_frontend_time_to_first_token_seconds").buckets();
    assert_eq!(ttft[0].labels, labels(&[("model", "qwen/qwen3-0.6b")]));
    assert_eq!(
        ttft[0].buckets,
        les_counts(
            &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, INF],
            &[0.0, 1.0, 12.0, 80.0, 250.0, 320.0, 327.0, 327.0, 327.0, 327.0, 327.0, 327.0]
        )
    );
    assert_eq!((ttft[0].sum, ttft[0].count), (Some(21.837), Some(327.0)));
    let isl = fam(&p, "dynamo_frontend_input_sequence_tokens").buckets();
    assert_eq!(
        isl[0].buckets,
        les_counts(
            &[0.0, 100.0, 1100.0, 2100.0, INF],
            &[0.0, 0.0, 327.0, 327.0, 327.0]
        )
    );
    assert_eq!(isl[0].sum, Some(327000.0));
}

#[test]
fn triton_page_families_and_values() {
    let p = page(include_str!("fixtures/triton.txt"));
    assert_eq!(
        shape(&p),
        vec![
            ("nv_inference_request_success", C, 2),
            ("nv_inference_request_failure", C, 4),
            ("nv_inference_count", C, 2),
            ("nv_inference_exec_count", C, 2),
            ("nv_inference_pending_request_count", G, 2),
            ("nv_inference_request_duration_us", C, 2),
            ("nv_inference_queue_duration_us", C, 2),
            ("nv_inference_request_summary_us", S, 5),
            ("nv_gpu_utilization", G, 1),
            ("nv_gpu_memory_total_bytes", G, 1),
            ("nv_gpu_memory_used_bytes", G, 1),
            ("nv_gpu_power_usage", G, 1),
            ("nv_energy_consumption", C, 1),
        ]
    );
    let success = &fam(&p, "nv_inference_request_success").samples;
    assert_eq!(
        success[1].labels,
        labels(&[("model", "resnet50"), ("version", "1")])
    );
    assert_eq!((success[0].value, success[1].value), (120.0, 4096.0));
    let failure = &fam(&p, "nv_inference_request_failure").samples;
    assert_eq!(failure[0].label("reason"), Some("REJECTED"));
    assert_eq!(failure[2].label("reason"), Some("BACKEND"));
    assert_eq!(failure[2].value, 1.0);
    assert_eq!(
        fam(&p, "nv_inference_request_duration_us").samples[1].value,
        12_345_000.0
    );
    assert_eq!(
        fam(&p, "nv_gpu_memory_total_bytes").samples[0].value,
        85_520_809_984.0
    );
    let summ = fam(&p, "nv_inference_request_summary_us").summaries();
    assert_eq!(summ.len(), 1);
    assert_eq!(
        summ[0].labels,
        labels(&[("model", "llama3"), ("version", "1")])
    );
    assert_eq!(
        summ[0].quantiles,
        vec![(0.5, 801234.0), (0.9, 1104321.0), (0.99, 1456789.0)]
    );
    assert_eq!(
        (summ[0].sum, summ[0].count),
        (Some(98123456.0), Some(120.0))
    );
    assert!(fam(&p, "nv_inference_request_summary_us")
        .buckets()
        .is_empty());
}

#[test]
fn dcgm_page_families_and_values() {
    let p = page(include_str!("fixtures/dcgm.txt"));
    let names = [
        ("DCGM_FI_DEV_SM_CLOCK", G),
        ("DCGM_FI_DEV_MEM_CLOCK", G),
        ("DCGM_FI_DEV_GPU_TEMP", G),
        ("DCGM_FI_DEV_POWER_USAGE", G),
        ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", C),
        ("DCGM_FI_DEV_GPU_UTIL", G),
        ("DCGM_FI_DEV_MEM_COPY_UTIL", G),
        ("DCGM_FI_DEV_FB_FREE", G),
        ("DCGM_FI_DEV_FB_USED", G),
        ("DCGM_FI_DEV_XID_ERRORS", G),
        ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", G),
    ];
    assert_eq!(
        shape(&p),
        names.iter().map(|&(n, k)| (n, k, 2)).collect::<Vec<_>>()
    );
    let power = fam(&p, "DCGM_FI_DEV_POWER_USAGE");
    assert_eq!(power.help.as_deref(), Some("Power draw (in W)."));
    assert_eq!(
        power.samples[0].labels,
        labels(&[
            ("gpu", "0"),
            ("UUID", "GPU-2f3c1b7e-9a41-4c5d-8e2f-0b1a2c3d4e5f"),
            ("pci_bus_id", "00000000:18:00.0"),
            ("device", "nvidia0"),
            ("modelName", "NVIDIA H100 80GB HBM3"),
            ("Hostname", "node1"),
            ("DCGM_FI_DRIVER_VERSION", "550.54.15"),
            ("container", ""),
            ("namespace", ""),
            ("pod", ""),
        ])
    );
    assert_eq!(
        (power.samples[0].value, power.samples[1].value),
        (312.456, 118.021)
    );
    assert_eq!(power.samples[1].label("gpu"), Some("1"));
    let energy = fam(&p, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION");
    assert_eq!(energy.samples[0].value, 8_273_645_123.0);
    assert_eq!(energy.samples[1].value, 7_261_534_012.0);
    let util = fam(&p, "DCGM_FI_DEV_GPU_UTIL");
    assert_eq!((util.samples[0].value, util.samples[1].value), (87.0, 0.0));
    let fb = fam(&p, "DCGM_FI_DEV_FB_USED");
    assert_eq!((fb.samples[0].value, fb.samples[1].value), (78245.0, 2.0));
    assert_eq!(
        fam(&p, "DCGM_FI_PROF_GR_ENGINE_ACTIVE").samples[0].value,
        0.853211
    );
}

#[test]
fn openmetrics_page_units_exemplars_created_eof() {
    let p = page(include_str!("fixtures/openmetrics.txt"));
    assert_eq!(
        shape(&p),
        vec![
            ("request_latency_seconds", H, 5),
            ("requests", C, 2),
            ("build", G, 1),
            ("feature", G, 2),
            ("queue_size", H, 4),
            ("temperature_celsius", G, 1),
            ("mystery", U, 1),
            ("rpc_duration_seconds", S, 4),
        ]
    );
    let lat = fam(&p, "request_latency_seconds");
    assert_eq!(lat.unit.as_deref(), Some("seconds"));
    assert_eq!(
        lat.help.as_deref(),
        Some("Request latency, with \"quotes\" and a \\ backslash\nand a newline.")
    );
    let series = lat.buckets();
    assert_eq!(series.len(), 1);
    assert!(series[0].labels.is_empty());
    assert_eq!(series[0].buckets, vec![(0.1, 3.0), (1.0, 7.0), (INF, 8.0)]);
    assert_eq!((series[0].sum, series[0].count), (Some(4.2), Some(8.0)));

    let reqs = fam(&p, "requests");
    assert_eq!(reqs.help.as_deref(), Some("Requests served."));
    assert_eq!(reqs.samples[0].name, "requests_total");
    assert_eq!(reqs.samples[0].value, 1027.0);
    assert_eq!(reqs.samples[0].timestamp_ms, Some(1_700_000_001_500));
    assert_eq!(
        reqs.samples[1].labels,
        labels(&[("path", "/v1/completions"), ("note", "say \"hi\"\\n\nend")])
    );
    assert_eq!(
        (reqs.samples[1].value, reqs.samples[1].timestamp_ms),
        (3.0, None)
    );

    let build = &fam(&p, "build").samples[0];
    assert_eq!(build.name, "build_info");
    assert_eq!(
        build.labels,
        labels(&[("version", "1.2.3"), ("revision", "abc")])
    );
    let feature = &fam(&p, "feature").samples;
    assert_eq!(
        (feature[0].value, feature[1].label("feature")),
        (1.0, Some("b"))
    );

    let q = fam(&p, "queue_size").buckets();
    assert_eq!(q[0].buckets, vec![(1.0, 2.0), (INF, 5.0)]);
    assert_eq!((q[0].sum, q[0].count), (Some(9.0), Some(5.0)));

    let temp = fam(&p, "temperature_celsius");
    assert_eq!(temp.unit.as_deref(), Some("celsius"));
    assert!(temp.samples[0].labels.is_empty());
    assert!(temp.samples[0].value.is_nan());
    let mystery = &fam(&p, "mystery").samples[0];
    assert_eq!(mystery.value, f64::NEG_INFINITY);
    assert_eq!(mystery.timestamp_ms, Some(1_700_000_002_000));

    let rpc = fam(&p, "rpc_duration_seconds").summaries();
    assert_eq!(rpc[0].quantiles, vec![(0.5, 0.05), (0.99, 0.2)]);
    assert_eq!((rpc[0].sum, rpc[0].count), (Some(12.5), Some(200.0)));
}
