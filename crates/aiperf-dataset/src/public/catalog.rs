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
    /// Weka agentic-coding traces, one whole trace per row (`loader::weka::from_rows`), replayed
    /// as agent graphs; `weka_hf` reads the repo `--hf-weka-dataset` names.
    WekaTraces,
    /// Exgentic agent request snapshots (`loader::weka::exgentic`), v1 or v2 traces.
    Exgentic(crate::loader::weka::exgentic::Version),
    /// Known to AIPerf but not read by this build: the reason, said when the name is used.
    Unsupported(&'static str),
}

/// One public dataset. Catalogue rows are `'static`; `weka_hf` borrows the repo a run names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicDataset<'a> {
    pub name: &'a str,
    /// The Hub dataset repo.
    pub repo: &'a str,
    /// The revision read: `main`, or the commit AIPerf pins.
    pub revision: &'a str,
    pub split: &'a str,
    /// The dataset config ("subset") read unless `--hf-subset` names another.
    pub subset: Option<&'a str>,
    pub shape: Shape,
}

const BLAZEDIT_TEMPLATE: &str = "Given a code file, please apply the change requests and generate the new file.\n\nOriginal file:\n```python\n{code}\n```\n\nChange request:\n{change_request}\n\nPlease generate the new code file in the \"New file\" section below.";

const fn text(
    name: &'static str,
    repo: &'static str,
    split: &'static str,
    subset: Option<&'static str>,
    prompt_column: &'static str,
) -> PublicDataset<'static> {
    PublicDataset {
        name,
        repo,
        revision: "main",
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
) -> PublicDataset<'static> {
    PublicDataset {
        name,
        repo,
        revision: "main",
        split,
        subset: Some(subset),
        shape: Shape::Asr {
            audio_column: "audio",
        },
    }
}

/// A Weka trace dataset (AIPerf's `default_block_size` 64, coding corpus).
const fn weka(name: &'static str, repo: &'static str) -> PublicDataset<'static> {
    PublicDataset {
        name,
        repo,
        revision: "main",
        split: "train",
        subset: None,
        shape: Shape::WekaTraces,
    }
}

/// An Exgentic dataset at the commit AIPerf pins.
const fn exgentic(
    name: &'static str,
    repo: &'static str,
    revision: &'static str,
    version: crate::loader::weka::exgentic::Version,
) -> PublicDataset<'static> {
    PublicDataset {
        name,
        repo,
        revision,
        split: "train",
        subset: None,
        shape: Shape::Exgentic(version),
    }
}

/// AIPerf 0.13's names, in its order.
pub const CATALOG: &[PublicDataset<'static>] = &[
    exgentic(
        "exgentic_v2",
        "Exgentic/agent-llm-traces-v2",
        "4b8ad4ab198438e5a170f9171c19c6a2cf7c1814",
        crate::loader::weka::exgentic::Version::V2,
    ),
    exgentic(
        "exgentic",
        "Exgentic/agent-llm-traces",
        "70036b93a04e61b0ea2706a68b962f4f26774587",
        crate::loader::weka::exgentic::Version::V1,
    ),
    PublicDataset {
        name: "sharegpt",
        repo: "anon8231489123/ShareGPT_Vicuna_unfiltered",
        revision: "main",
        split: "train",
        subset: None,
        shape: Shape::ShareGpt,
    },
    text("aimo", "AI-MO/NuminaMath-TIR", "train", None, "problem"),
    PublicDataset {
        name: "mmstar",
        repo: "Lin-Chen/MMStar",
        revision: "main",
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
        revision: "main",
        split: "validation",
        subset: None,
        shape: Shape::Mmvu {
            video_column: "video",
        },
    },
    PublicDataset {
        name: "vision_arena",
        repo: "lmarena-ai/VisionArena-Chat",
        revision: "main",
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
        revision: "main",
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
        revision: "main",
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
        revision: "main",
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
        revision: "main",
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
        revision: "main",
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
    weka(
        "semianalysis_cc_traces_weka",
        "semianalysisai/cc-traces-weka-no-subagents-051826",
    ),
    weka(
        "semianalysis_cc_traces_weka_no_subagents",
        "semianalysisai/cc-traces-weka-no-subagents-051826",
    ),
    weka(
        "semianalysis_cc_traces_weka_with_subagents",
        "semianalysisai/cc-traces-weka-062126",
    ),
    weka(
        "semianalysis_cc_traces_weka_with_subagents_256k",
        "semianalysisai/cc-traces-weka-062126-256k",
    ),
    weka(
        "semianalysis_cc_traces_weka_with_subagents_060226",
        "semianalysisai/cc-traces-weka-with-subagents-060226",
    ),
    weka(
        "semianalysis_cc_traces_weka_with_subagents_060226_256k",
        "semianalysisai/cc-traces-weka-with-subagents-060226-256k",
    ),
    weka(
        "semianalysis_cc_traces_weka_with_subagents_060526",
        "semianalysisai/cc-traces-weka-with-subagents-060526",
    ),
    weka(
        "semianalysis_cc_traces_weka_with_subagents_060526_256k",
        "semianalysisai/cc-traces-weka-with-subagents-060526-256k",
    ),
    weka(
        "semianalysis_cc_traces_weka_with_subagents_060826",
        "semianalysisai/cc-traces-weka-with-subagents-060826",
    ),
    weka(
        "semianalysis_cc_traces_weka_with_subagents_060826_256k",
        "semianalysisai/cc-traces-weka-with-subagents-060826-256k",
    ),
    weka(
        "semianalysis_cc_traces_weka_061326",
        "semianalysisai/cc-traces-weka-061326",
    ),
    weka(
        "semianalysis_cc_traces_weka_061326_256k",
        "semianalysisai/cc-traces-weka-061326-256k",
    ),
    weka(
        "semianalysis_cc_traces_weka_061526",
        "semianalysisai/cc-traces-weka-061526",
    ),
    weka(
        "semianalysis_cc_traces_weka_061526_256k",
        "semianalysisai/cc-traces-weka-061526-256k",
    ),
    weka(
        "semianalysis_cc_traces_weka_062126",
        "semianalysisai/cc-traces-weka-062126",
    ),
    weka(
        "semianalysis_cc_traces_weka_062126_256k",
        "semianalysisai/cc-traces-weka-062126-256k",
    ),
    weka("weka_hf", ""),
];

impl PublicDataset<'_> {
    /// The prompt corpus AIPerf uses for it unless `--prompt-corpus` says otherwise (its
    /// `default_prompt_corpus`: coding for the Weka traces).
    pub fn default_prompt_corpus(&self) -> Option<crate::corpus::PromptCorpus> {
        matches!(self.shape, Shape::WekaTraces).then_some(crate::corpus::PromptCorpus::Coding)
    }

    /// AIPerf reads it with `streaming: true`: only as many rows as the run needs (the largest
    /// profiling request count, else `--conversation-num`), so only the files holding them are
    /// downloaded here.
    pub fn streaming(&self) -> bool {
        matches!(
            self.shape,
            Shape::Conversation { .. } | Shape::Asr { .. } | Shape::Exgentic(_)
        )
    }
}

/// The dataset called `name`.
pub fn find(name: &str) -> Option<&'static PublicDataset<'static>> {
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
