//! Every `--public-dataset` name AIPerf 0.13 lists, with the Hub repo, split and subset it reads
//! and how its rows become conversations (AIPerf's `public_dataset_loader` plugin metadata).

/// How a dataset's rows become conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The ShareGPT JSON file: first human/gpt pair, vLLM's length filters
    /// (`loader::sharegpt`).
    ShareGpt,
    /// One single-turn conversation per row: the prompt column's text, or `template` filled
    /// from the row's columns (Python `str.format` placeholders).
    InstructionResponse {
        prompt_column: &'static str,
        template: Option<&'static str>,
        /// The image (`{bytes, path}`) attached to the turn, when the dataset has one.
        image_column: Option<&'static str>,
    },
    /// MT-Bench: the `prompt` column is a list of user turns; one multi-turn conversation per row.
    MtBench,
    /// A list of chat messages per row (`HFConversationDatasetLoader`, single-turn): the first
    /// `user`/`human` message's `content_key` text (`<image>` tags removed) with the row's first
    /// image.
    Conversation {
        column: &'static str,
        content_key: &'static str,
        image_column: &'static str,
    },
    /// ASR (`HFASRDatasetLoader`): "Transcribe this audio." with the row's clip as a WAV;
    /// clips over 30 s skipped.
    Asr { audio_column: &'static str },
    /// MMVU (`MMVUDatasetLoader`): the question and its lettered choices, with the video.
    Mmvu { video_column: &'static str },
    /// Spec-Bench's `question.jsonl`, downloaded from GitHub (`SpecBenchLoader`): the first of
    /// each row's `turns`.
    SpecBench,
    /// Known to AIPerf but not read by this build (images, audio, video, agent traces, or files
    /// outside the Hub): the reason, said when the name is used.
    Unsupported(&'static str),
}

/// One public dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicDataset {
    pub name: &'static str,
    /// The Hub dataset repo.
    pub repo: &'static str,
    pub split: &'static str,
    /// The dataset config ("subset") read unless `--hf-subset` names another.
    pub subset: Option<&'static str>,
    pub shape: Shape,
}

const BLAZEDIT_TEMPLATE: &str = "Given a code file, please apply the change requests and generate the new file.\n\nOriginal file:\n```python\n{code}\n```\n\nChange request:\n{change_request}\n\nPlease generate the new code file in the \"New file\" section below.";

const fn text(
    name: &'static str,
    repo: &'static str,
    split: &'static str,
    subset: Option<&'static str>,
    prompt_column: &'static str,
) -> PublicDataset {
    PublicDataset {
        name,
        repo,
        split,
        subset,
        shape: Shape::InstructionResponse {
            prompt_column,
            template: None,
            image_column: None,
        },
    }
}

/// An ASR dataset: AIPerf reads its `audio` column with a fixed prompt.
const fn asr(
    name: &'static str,
    repo: &'static str,
    split: &'static str,
    subset: &'static str,
) -> PublicDataset {
    PublicDataset {
        name,
        repo,
        split,
        subset: Some(subset),
        shape: Shape::Asr {
            audio_column: "audio",
        },
    }
}

const fn unsupported(
    name: &'static str,
    repo: &'static str,
    split: &'static str,
    why: &'static str,
) -> PublicDataset {
    PublicDataset {
        name,
        repo,
        split,
        subset: None,
        shape: Shape::Unsupported(why),
    }
}

const AGENT: &str = "agent traces (Exgentic / Weka) are not read by this build yet";

/// AIPerf 0.13's names, in its order.
pub const CATALOG: &[PublicDataset] = &[
    unsupported(
        "exgentic_v2",
        "Exgentic/agent-llm-traces-v2",
        "train",
        AGENT,
    ),
    unsupported("exgentic", "Exgentic/agent-llm-traces", "train", AGENT),
    PublicDataset {
        name: "sharegpt",
        repo: "anon8231489123/ShareGPT_Vicuna_unfiltered",
        split: "train",
        subset: None,
        shape: Shape::ShareGpt,
    },
    text("aimo", "AI-MO/NuminaMath-TIR", "train", None, "problem"),
    PublicDataset {
        name: "mmstar",
        repo: "Lin-Chen/MMStar",
        split: "val",
        subset: None,
        shape: Shape::InstructionResponse {
            prompt_column: "question",
            template: None,
            image_column: Some("image"),
        },
    },
    PublicDataset {
        name: "mmvu",
        repo: "yale-nlp/MMVU",
        split: "validation",
        subset: None,
        shape: Shape::Mmvu {
            video_column: "video",
        },
    },
    PublicDataset {
        name: "vision_arena",
        repo: "lmarena-ai/VisionArena-Chat",
        split: "train",
        subset: None,
        shape: Shape::Conversation {
            column: "conversation",
            content_key: "content",
            image_column: "images",
        },
    },
    PublicDataset {
        name: "llava_onevision",
        repo: "lmms-lab/LLaVA-OneVision-Data",
        split: "train",
        subset: Some("sharegpt4o"),
        shape: Shape::Conversation {
            column: "conversations",
            content_key: "value",
            image_column: "image",
        },
    },
    text(
        "aimo_aime",
        "AI-MO/aimo-validation-aime",
        "train",
        None,
        "problem",
    ),
    text(
        "aimo_numina_cot",
        "AI-MO/NuminaMath-CoT",
        "train",
        None,
        "problem",
    ),
    text(
        "aimo_numina_1_5",
        "AI-MO/NuminaMath-1.5",
        "train",
        None,
        "problem",
    ),
    PublicDataset {
        name: "spec_bench",
        repo: "hemingkx/Spec-Bench",
        split: "train",
        subset: None,
        shape: Shape::SpecBench,
    },
    text(
        "spec_al_gsm8k",
        "openai/gsm8k",
        "test",
        Some("main"),
        "question",
    ),
    text(
        "spec_al_math500",
        "HuggingFaceH4/MATH-500",
        "test",
        None,
        "problem",
    ),
    text(
        "spec_al_humaneval",
        "openai/openai_humaneval",
        "test",
        None,
        "prompt",
    ),
    text(
        "spec_al_mbpp",
        "google-research-datasets/mbpp",
        "test",
        Some("full"),
        "text",
    ),
    PublicDataset {
        name: "spec_al_mtbench",
        repo: "HuggingFaceH4/mt_bench_prompts",
        split: "train",
        subset: None,
        shape: Shape::MtBench,
    },
    text(
        "instruct_coder",
        "likaixin/InstructCoder",
        "train",
        None,
        "instruction",
    ),
    PublicDataset {
        name: "blazedit_5k",
        repo: "vdaita/edit_5k_char",
        split: "train",
        subset: None,
        shape: Shape::InstructionResponse {
            prompt_column: "change_request",
            template: Some(BLAZEDIT_TEMPLATE),
            image_column: None,
        },
    },
    PublicDataset {
        name: "blazedit_10k",
        repo: "vdaita/edit_10k_char",
        split: "train",
        subset: None,
        shape: Shape::InstructionResponse {
            prompt_column: "change_request",
            template: Some(BLAZEDIT_TEMPLATE),
            image_column: None,
        },
    },
    asr("librispeech", "openslr/librispeech_asr", "test", "clean"),
    asr("voxpopuli", "facebook/voxpopuli", "test", "en"),
    asr("gigaspeech", "speechcolab/gigaspeech", "test", "xs"),
    asr("ami", "edinburghcstr/ami", "test", "ihm"),
    asr("spgispeech", "kensho/spgispeech", "test", "test"),
    unsupported(
        "semianalysis_cc_traces_weka",
        "semianalysisai/cc-traces-weka-no-subagents-051826",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_no_subagents",
        "semianalysisai/cc-traces-weka-no-subagents-051826",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_with_subagents",
        "semianalysisai/cc-traces-weka-062126",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_with_subagents_256k",
        "semianalysisai/cc-traces-weka-062126-256k",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_with_subagents_060226",
        "semianalysisai/cc-traces-weka-with-subagents-060226",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_with_subagents_060226_256k",
        "semianalysisai/cc-traces-weka-with-subagents-060226-256k",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_with_subagents_060526",
        "semianalysisai/cc-traces-weka-with-subagents-060526",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_with_subagents_060526_256k",
        "semianalysisai/cc-traces-weka-with-subagents-060526-256k",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_with_subagents_060826",
        "semianalysisai/cc-traces-weka-with-subagents-060826",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_with_subagents_060826_256k",
        "semianalysisai/cc-traces-weka-with-subagents-060826-256k",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_061326",
        "semianalysisai/cc-traces-weka-061326",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_061326_256k",
        "semianalysisai/cc-traces-weka-061326-256k",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_061526",
        "semianalysisai/cc-traces-weka-061526",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_061526_256k",
        "semianalysisai/cc-traces-weka-061526-256k",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_062126",
        "semianalysisai/cc-traces-weka-062126",
        "train",
        AGENT,
    ),
    unsupported(
        "semianalysis_cc_traces_weka_062126_256k",
        "semianalysisai/cc-traces-weka-062126-256k",
        "train",
        AGENT,
    ),
    unsupported("weka_hf", "", "train", AGENT),
];

impl PublicDataset {
    /// AIPerf reads it with `streaming: true`: only as many rows as the run needs (the largest
    /// profiling request count, else `--conversation-num`), so only the files holding them are
    /// downloaded here.
    pub fn streaming(&self) -> bool {
        matches!(self.shape, Shape::Conversation { .. } | Shape::Asr { .. })
    }
}

/// The dataset called `name`.
pub fn find(name: &str) -> Option<&'static PublicDataset> {
    CATALOG.iter().find(|d| d.name == name)
}

/// The names this build reads, comma-separated (for error messages).
pub fn supported_names() -> String {
    CATALOG
        .iter()
        .filter(|d| !matches!(d.shape, Shape::Unsupported(_)))
        .map(|d| d.name)
        .collect::<Vec<_>>()
        .join(", ")
}
