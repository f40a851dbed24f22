//! HellaSwag (`Rowan/hellaswag`), as AIPerf's `benchmarks/hellaswag.py` builds it through
//! DeepEval's `HellaSwagTemplate`: validation rows of each selected activity label, the first
//! `n_shots` of "the first train row of each activity label" as few-shots, DeepEval's
//! confinement line appended, one user message.

use super::mmlu::{bad_row, check_source_count, column, str_column, str_list_column};
use super::{Benchmark, BenchmarkKind, Fixture, FixtureFile, LoadRequest, Source};
use crate::{AccuracyError, Problem, Row};
use serde_json::{json, Value};
use std::collections::HashSet;

const REPO: &str = "Rowan/hellaswag";
const TEST_SPLIT: &str = "validation";
const SHOTS_SPLIT: &str = "train";
/// DeepEval asserts `n_shots <= 15`.
const MAX_N_SHOTS: u32 = 15;
const GENERATION_SIZE: u32 = 5;
const LETTERS: [&str; 4] = ["A", "B", "C", "D"];
/// DeepEval's default `confinement_instructions`, appended after a blank line.
const CONFINEMENT: &str = "Output 'A', 'B', 'C', or 'D'. Full answer not needed.";

/// DeepEval's `HellaSwagTask` members (enum name, activity label), in its order.
pub const TASKS: [(&str, &str); 192] = [
    ("APPLYING_SUNSCREEN", "Applying sunscreen"),
    ("TRIMMING_BRANCHES_OR_HEDGES", "Trimming branches or hedges"),
    ("DISC_DOG", "Disc dog"),
    ("WAKEBOARDING", "Wakeboarding"),
    ("SKATEBOARDING", "Skateboarding"),
    ("WATERSKIING", "Waterskiing"),
    ("WASHING_HANDS", "Washing hands"),
    ("SAILING", "Sailing"),
    ("PLAYING_CONGAS", "Playing congas"),
    ("BALLET", "Ballet"),
    ("ROOF_SHINGLE_REMOVAL", "Roof shingle removal"),
    ("HAND_CAR_WASH", "Hand car wash"),
    ("KITE_FLYING", "Kite flying"),
    ("PLAYING_POOL", "Playing pool"),
    ("PLAYING_LACROSSE", "Playing lacrosse"),
    ("LAYUP_DRILL_IN_BASKETBALL", "Layup drill in basketball"),
    ("HOME_AND_GARDEN", "Home and Garden"),
    ("PLAYING_BEACH_VOLLEYBALL", "Playing beach volleyball"),
    ("CALF_ROPING", "Calf roping"),
    ("SCUBA_DIVING", "Scuba diving"),
    ("MIXING_DRINKS", "Mixing drinks"),
    ("PUTTING_ON_SHOES", "Putting on shoes"),
    ("MAKING_A_LEMONADE", "Making a lemonade"),
    ("UNCATEGORIZED", "Uncategorized"),
    ("ZUMBA", "Zumba"),
    ("PLAYING_BADMINTON", "Playing badminton"),
    ("PLAYING_BAGPIPES", "Playing bagpipes"),
    ("FOOD_AND_ENTERTAINING", "Food and Entertaining"),
    ("PERSONAL_CARE_AND_STYLE", "Personal Care and Style"),
    ("CRICKET", "Cricket"),
    ("SHOVELING_SNOW", "Shoveling snow"),
    ("PING_PONG", "Ping-pong"),
    ("HOLIDAYS_AND_TRADITIONS", "Holidays and Traditions"),
    ("ICE_FISHING", "Ice fishing"),
    ("BEACH_SOCCER", "Beach soccer"),
    ("TABLE_SOCCER", "Table soccer"),
    ("SWIMMING", "Swimming"),
    ("BATON_TWIRLING", "Baton twirling"),
    ("JAVELIN_THROW", "Javelin throw"),
    ("SHOT_PUT", "Shot put"),
    ("DOING_CRUNCHES", "Doing crunches"),
    ("POLISHING_SHOES", "Polishing shoes"),
    ("TRAVEL", "Travel"),
    ("USING_UNEVEN_BARS", "Using uneven bars"),
    ("PLAYING_HARMONICA", "Playing harmonica"),
    ("RELATIONSHIPS", "Relationships"),
    ("HIGH_JUMP", "High jump"),
    ("MAKING_A_SANDWICH", "Making a sandwich"),
    ("POWERBOCKING", "Powerbocking"),
    ("REMOVING_ICE_FROM_CAR", "Removing ice from car"),
    ("SHAVING", "Shaving"),
    ("SHARPENING_KNIVES", "Sharpening knives"),
    ("WELDING", "Welding"),
    ("USING_PARALLEL_BARS", "Using parallel bars"),
    ("HOME_CATEGORIES", "Home,Categories"),
    ("ROCK_CLIMBING", "Rock climbing"),
    ("SNOW_TUBING", "Snow tubing"),
    ("WASHING_FACE", "Washing face"),
    ("ASSEMBLING_BICYCLE", "Assembling bicycle"),
    (
        "TENNIS_SERVE_WITH_BALL_BOUNCING",
        "Tennis serve with ball bouncing",
    ),
    ("SHUFFLEBOARD", "Shuffleboard"),
    ("DODGEBALL", "Dodgeball"),
    ("CAPOEIRA", "Capoeira"),
    ("PAINTBALL", "Paintball"),
    ("DOING_A_POWERBOMB", "Doing a powerbomb"),
    ("DOING_MOTOCROSS", "Doing motocross"),
    ("PLAYING_ICE_HOCKEY", "Playing ice hockey"),
    ("PHILOSOPHY_AND_RELIGION", "Philosophy and Religion"),
    ("ARCHERY", "Archery"),
    ("CARS_AND_OTHER_VEHICLES", "Cars & Other Vehicles"),
    ("RUNNING_A_MARATHON", "Running a marathon"),
    ("THROWING_DARTS", "Throwing darts"),
    ("PAINTING_FURNITURE", "Painting furniture"),
    ("HAVING_AN_ICE_CREAM", "Having an ice cream"),
    ("SLACKLINING", "Slacklining"),
    ("CAMEL_RIDE", "Camel ride"),
    ("ARM_WRESTLING", "Arm wrestling"),
    ("HULA_HOOP", "Hula hoop"),
    ("SURFING", "Surfing"),
    ("PLAYING_PIANO", "Playing piano"),
    ("GARGLING_MOUTHWASH", "Gargling mouthwash"),
    ("PLAYING_ACCORDION", "Playing accordion"),
    ("HORSEBACK_RIDING", "Horseback riding"),
    ("PUTTING_IN_CONTACT_LENSES", "Putting in contact lenses"),
    ("PLAYING_SAXOPHONE", "Playing saxophone"),
    ("FUTSAL", "Futsal"),
    ("LONG_JUMP", "Long jump"),
    ("LONGBOARDING", "Longboarding"),
    ("POLE_VAULT", "Pole vault"),
    ("BUILDING_SANDCASTLES", "Building sandcastles"),
    ("PLATFORM_DIVING", "Platform diving"),
    ("PAINTING", "Painting"),
    ("SPINNING", "Spinning"),
    ("CARVING_JACK_O_LANTERNS", "Carving jack-o-lanterns"),
    ("BRAIDING_HAIR", "Braiding hair"),
    ("YOUTH", "Youth"),
    ("PLAYING_VIOLIN", "Playing violin"),
    ("CANOEING", "Canoeing"),
    ("CHEERLEADING", "Cheerleading"),
    ("PETS_AND_ANIMALS", "Pets and Animals"),
    ("KAYAKING", "Kayaking"),
    ("CLEANING_SHOES", "Cleaning shoes"),
    ("KNITTING", "Knitting"),
    ("BAKING_COOKIES", "Baking cookies"),
    ("DOING_FENCING", "Doing fencing"),
    ("PLAYING_GUITARRA", "Playing guitarra"),
    ("USING_THE_ROWING_MACHINE", "Using the rowing machine"),
    ("GETTING_A_HAIRCUT", "Getting a haircut"),
    ("MOOPING_FLOOR", "Mooping floor"),
    ("RIVER_TUBING", "River tubing"),
    ("CLEANING_SINK", "Cleaning sink"),
    ("GROOMING_DOG", "Grooming dog"),
    ("DISCUS_THROW", "Discus throw"),
    ("CLEANING_WINDOWS", "Cleaning windows"),
    ("FINANCE_AND_BUSINESS", "Finance and Business"),
    ("HANGING_WALLPAPER", "Hanging wallpaper"),
    ("ROPE_SKIPPING", "Rope skipping"),
    ("WINDSURFING", "Windsurfing"),
    ("KNEELING", "Kneeling"),
    ("GETTING_A_PIERCING", "Getting a piercing"),
    ("ROCK_PAPER_SCISSORS", "Rock-paper-scissors"),
    ("SPORTS_AND_FITNESS", "Sports and Fitness"),
    ("BREAKDANCING", "Breakdancing"),
    ("WALKING_THE_DOG", "Walking the dog"),
    ("PLAYING_DRUMS", "Playing drums"),
    ("PLAYING_WATER_POLO", "Playing water polo"),
    ("BMX", "BMX"),
    ("SMOKING_A_CIGARETTE", "Smoking a cigarette"),
    ("BLOWING_LEAVES", "Blowing leaves"),
    ("BULLFIGHTING", "Bullfighting"),
    ("DRINKING_COFFEE", "Drinking coffee"),
    ("BATHING_DOG", "Bathing dog"),
    ("TANGO", "Tango"),
    ("WRAPPING_PRESENTS", "Wrapping presents"),
    ("PLASTERING", "Plastering"),
    ("PLAYING_BLACKJACK", "Playing blackjack"),
    ("FUN_SLIDING_DOWN", "Fun sliding down"),
    ("WORK_WORLD", "Work World"),
    ("TRIPLE_JUMP", "Triple jump"),
    ("TUMBLING", "Tumbling"),
    ("SKIING", "Skiing"),
    ("DOING_KICKBOXING", "Doing kickboxing"),
    ("BLOW_DRYING_HAIR", "Blow-drying hair"),
    ("DRUM_CORPS", "Drum corps"),
    ("SMOKING_HOOKAH", "Smoking hookah"),
    ("MOWING_THE_LAWN", "Mowing the lawn"),
    ("VOLLEYBALL", "Volleyball"),
    ("LAYING_TILE", "Laying tile"),
    ("STARTING_A_CAMPFIRE", "Starting a campfire"),
    ("SUMO", "Sumo"),
    ("HURLING", "Hurling"),
    ("PLAYING_KICKBALL", "Playing kickball"),
    ("MAKING_A_CAKE", "Making a cake"),
    ("FIXING_THE_ROOF", "Fixing the roof"),
    ("PLAYING_POLO", "Playing polo"),
    ("REMOVING_CURLERS", "Removing curlers"),
    ("ELLIPTICAL_TRAINER", "Elliptical trainer"),
    ("HEALTH", "Health"),
    ("SPREAD_MULCH", "Spread mulch"),
    ("CHOPPING_WOOD", "Chopping wood"),
    ("BRUSHING_TEETH", "Brushing teeth"),
    ("USING_THE_POMMEL_HORSE", "Using the pommel horse"),
    ("SNATCH", "Snatch"),
    ("CLIPPING_CAT_CLAWS", "Clipping cat claws"),
    ("PUTTING_ON_MAKEUP", "Putting on makeup"),
    ("HAND_WASHING_CLOTHES", "Hand washing clothes"),
    ("HITTING_A_PINATA", "Hitting a pinata"),
    ("TAI_CHI", "Tai chi"),
    ("GETTING_A_TATTOO", "Getting a tattoo"),
    ("DRINKING_BEER", "Drinking beer"),
    ("SHAVING_LEGS", "Shaving legs"),
    ("DOING_KARATE", "Doing karate"),
    ("PLAYING_RUBIK_CUBE", "Playing rubik cube"),
    ("FAMILY_LIFE", "Family Life"),
    ("ROLLERBLADING", "Rollerblading"),
    (
        "EDUCATION_AND_COMMUNICATIONS",
        "Education and Communications",
    ),
    ("FIXING_BICYCLE", "Fixing bicycle"),
    ("BEER_PONG", "Beer pong"),
    ("IRONING_CLOTHES", "Ironing clothes"),
    ("CUTTING_THE_GRASS", "Cutting the grass"),
    ("RAKING_LEAVES", "Raking leaves"),
    ("PLAYING_SQUASH", "Playing squash"),
    ("HOPSCOTCH", "Hopscotch"),
    ("INSTALLING_CARPET", "Installing carpet"),
    ("POLISHING_FURNITURE", "Polishing furniture"),
    (
        "DECORATING_THE_CHRISTMAS_TREE",
        "Decorating the Christmas tree",
    ),
    ("PREPARING_SALAD", "Preparing salad"),
    ("PREPARING_PASTA", "Preparing pasta"),
    ("VACUUMING_FLOOR", "Vacuuming floor"),
    ("CLEAN_AND_JERK", "Clean and jerk"),
    ("COMPUTERS_AND_ELECTRONICS", "Computers and Electronics"),
    ("CROQUET", "Croquet"),
];

/// HellaSwag: 192 activity labels, 10-shot, graded by `exact_match`; no CoT variant.
pub struct Hellaswag;

impl Benchmark for Hellaswag {
    fn kind(&self) -> BenchmarkKind {
        BenchmarkKind::Hellaswag
    }

    /// The `validation` split (the problems), then the `train` split (the few-shot pool).
    fn sources(&self, req: &LoadRequest) -> Result<Vec<Source>, AccuracyError> {
        check_n_shots(req.n_shots)?;
        resolve_tasks(req.tasks.as_deref())?;
        Ok(vec![
            Source::new(REPO, None, TEST_SPLIT),
            Source::new(REPO, None, SHOTS_SPLIT),
        ])
    }

    fn build(&self, req: &LoadRequest, rows: &[Vec<Row>]) -> Result<Vec<Problem>, AccuracyError> {
        let sources = self.sources(req)?;
        check_source_count("hellaswag", &sources, rows)?;
        let tasks = resolve_tasks(req.tasks.as_deref())?;
        let shots = shots_text(&sources[1], &rows[1], req.n_shots as usize)?;
        let mut problems = Vec::new();
        for task in tasks {
            for (i, row) in rows[0].iter().enumerate() {
                if row.get("activity_label").and_then(Value::as_str) != Some(task) {
                    continue;
                }
                if let Some(problem) = problem(&sources[0], i, row, task, &shots)? {
                    problems.push(problem);
                }
            }
        }
        Ok(problems)
    }

    /// The gold letter (exact match on the stripped output), or the next letter round A..D.
    fn oracle_answer(&self, problem: &Problem, correct: bool) -> String {
        let gold = problem.ground_truth.trim();
        if correct {
            return gold.to_string();
        }
        let next = LETTERS
            .iter()
            .position(|l| *l == gold)
            .map_or(0, |i| (i + 1) % LETTERS.len());
        LETTERS[next].to_string()
    }

    fn fixture(&self) -> Vec<Fixture> {
        vec![fixture()]
    }
}

fn check_n_shots(n_shots: u32) -> Result<(), AccuracyError> {
    if n_shots <= MAX_N_SHOTS {
        return Ok(());
    }
    Err(AccuracyError::Invalid(format!(
        "HellaSwag supports at most {MAX_N_SHOTS} few-shot examples (got {n_shots}); \
         DeepEval asserts ``n_shots <= 15``."
    )))
}

/// `--accuracy-tasks` to activity labels: none or `["all"]` is every task; otherwise each
/// name matches a label case-insensitively or an enum name after upper-casing. `all` mixed
/// with other names is an error.
fn resolve_tasks(tasks: Option<&[String]>) -> Result<Vec<&'static str>, AccuracyError> {
    let all = || TASKS.iter().map(|(_, label)| *label).collect();
    let tasks = match tasks {
        Some(t) if !t.is_empty() => t,
        _ => return Ok(all()),
    };
    if tasks.iter().any(|t| t.to_lowercase() == "all") {
        if tasks.len() == 1 {
            return Ok(all());
        }
        return Err(AccuracyError::Invalid(format!(
            "'all' cannot be mixed with other task names. Pass 'all' by itself (or omit \
             --accuracy-tasks) to select every task, or list specific activity labels. \
             Got: {tasks:?}"
        )));
    }
    let mut resolved = Vec::new();
    let mut unknown = Vec::new();
    for name in tasks {
        let lower = name.to_lowercase();
        let upper = name.to_uppercase();
        let found = TASKS
            .iter()
            .find(|(_, label)| label.to_lowercase() == lower)
            .or_else(|| TASKS.iter().find(|(enum_name, _)| *enum_name == upper));
        match found {
            Some((_, label)) => resolved.push(*label),
            None => unknown.push(name.as_str()),
        }
    }
    if unknown.is_empty() {
        return Ok(resolved);
    }
    Err(AccuracyError::UnknownTasks {
        benchmark: "hellaswag".into(),
        unknown: unknown.join(", "),
        available: TASKS.map(|(_, label)| label).join(", "),
    })
}

/// The gold index of a row's `label` (a string like `"2"`, or an int); `None` when the
/// label is empty or null (unlabelled rows are skipped).
fn label_index(source: &Source, i: usize, row: &Row) -> Result<Option<usize>, AccuracyError> {
    let invalid = || bad_row(source, i, "column `label` is not one of 0-3");
    let index = match row.get("label") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        // Python's `int(label)`: surrounding whitespace is allowed.
        Some(Value::String(s)) => s.trim().parse::<usize>().map_err(|_| invalid())?,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(invalid)?,
        Some(_) => return Err(invalid()),
    };
    if index < LETTERS.len() {
        Ok(Some(index))
    } else {
        Err(invalid())
    }
}

/// DeepEval's `format_question`: context, the four endings lettered, `Answer:`.
fn question(source: &Source, i: usize, row: &Row) -> Result<String, AccuracyError> {
    let mut text = str_column(source, i, row, "ctx")?.to_string();
    let endings = str_list_column(source, i, row, "endings")?;
    if endings.len() < LETTERS.len() {
        return Err(bad_row(
            source,
            i,
            "column `endings` has fewer than 4 entries",
        ));
    }
    for (letter, ending) in LETTERS.iter().zip(&endings) {
        text.push_str(&format!("\n{letter}. {ending}"));
    }
    text.push_str("\nAnswer:");
    Ok(text)
}

/// The few-shot block: the first `n_shots` of the first train row per activity label, each
/// `format_question(include_answer=True)`.
fn shots_text(source: &Source, rows: &[Row], n_shots: usize) -> Result<String, AccuracyError> {
    let mut seen = HashSet::new();
    let mut text = String::new();
    let mut taken = 0;
    for (i, row) in rows.iter().enumerate() {
        if taken == n_shots {
            break;
        }
        let label = column(source, i, row, "activity_label")?;
        if !seen.insert(label.to_string()) {
            continue;
        }
        let letter = label_index(source, i, row)?
            .map(|g| LETTERS[g])
            .ok_or_else(|| bad_row(source, i, "few-shot row has no `label`"))?;
        text.push_str(&question(source, i, row)?);
        text.push_str(&format!(" {letter}\n\n"));
        taken += 1;
    }
    if taken < n_shots {
        return Err(AccuracyError::Invalid(format!(
            "hellaswag: {n_shots} few-shot examples asked for, but {} has only {taken} \
             activity labels",
            source.label()
        )));
    }
    Ok(text)
}

/// The problem of validation row `i` for `task`, `None` when the row is unlabelled.
fn problem(
    source: &Source,
    i: usize,
    row: &Row,
    task: &str,
    shots: &str,
) -> Result<Option<Problem>, AccuracyError> {
    let Some(gold) = label_index(source, i, row)? else {
        return Ok(None);
    };
    let prompt = format!(
        "The following are multiple choice questions (with answers) are sentence completion \
         problems about {task}.\n\n{shots}{}\n\n{CONFINEMENT}",
        question(source, i, row)?
    );
    Ok(Some(Problem::user_message(
        prompt,
        LETTERS[gold],
        task,
        GENERATION_SIZE,
    )))
}

/// One row in the repo's schema (`label` is a string; `""` in the test split).
fn hs_row(
    ind: u64,
    activity: &str,
    ctx_a: &str,
    ctx_b: &str,
    endings: [&str; 4],
    label: &str,
) -> Row {
    let ctx = if ctx_b.is_empty() {
        ctx_a.to_string()
    } else {
        format!("{ctx_a} {ctx_b}")
    };
    let mut row = Row::new();
    row.insert("ind".into(), json!(ind));
    row.insert("activity_label".into(), json!(activity));
    row.insert("ctx_a".into(), json!(ctx_a));
    row.insert("ctx_b".into(), json!(ctx_b));
    row.insert("ctx".into(), json!(ctx));
    row.insert("endings".into(), json!(endings));
    row.insert("source_id".into(), json!(format!("activitynet~v_{ind}")));
    row.insert("split".into(), json!("train"));
    row.insert("split_type".into(), json!("indomain"));
    row.insert("label".into(), json!(label));
    row
}

/// Rows with their `split` column set.
fn in_split(split: &str, rows: Vec<Row>) -> Vec<Row> {
    rows.into_iter()
        .map(|mut r| {
            r.insert("split".into(), json!(split));
            r
        })
        .collect()
}

fn fixture_train_rows() -> Vec<Row> {
    const E: [&str; 4] = ["goes left.", "goes right.", "stops.", "jumps."];
    let labels = [
        "Applying sunscreen",
        "Disc dog",
        "Applying sunscreen",
        "Sailing",
        "Ballet",
        "Zumba",
        "Disc dog",
        "Kite flying",
        "Playing pool",
        "Calf roping",
        "Scuba diving",
        "Mixing drinks",
        "Croquet",
    ];
    labels
        .iter()
        .enumerate()
        .map(|(i, activity)| {
            let ctx = format!("Train context {i} about {}.", activity.to_lowercase());
            hs_row(
                i as u64,
                activity,
                &ctx,
                "Then someone",
                E,
                &(i % 4).to_string(),
            )
        })
        .collect()
}

fn fixture_validation_rows() -> Vec<Row> {
    let rows = vec![
        hs_row(
            100,
            "Disc dog",
            "A dog runs across a field.",
            "It",
            ["catches the disc.", "sleeps.", "sings.", "reads."],
            "0",
        ),
        hs_row(
            101,
            "Applying sunscreen",
            "A woman holds a bottle.",
            "She",
            [
                "drinks it.",
                "rubs lotion on her arms.",
                "throws it.",
                "eats it.",
            ],
            "1",
        ),
        hs_row(
            102,
            "Disc dog",
            "The man throws a frisbee.",
            "The dog",
            [
                "ignores it.",
                "digs.",
                "leaps and catches it.",
                "barks at a car.",
            ],
            "2",
        ),
        hs_row(
            103,
            "Sailing",
            "A boat leaves the dock.",
            "",
            ["It sinks.", "It flies.", "It melts.", "It sails away."],
            "3",
        ),
        hs_row(
            104,
            "Applying sunscreen",
            "A child sits on the beach.",
            "Her mother",
            ["spreads cream on her face.", "leaves.", "swims.", "cooks."],
            "0",
        ),
        hs_row(
            105,
            "Disc dog",
            "A crowd watches a dog.",
            "The dog",
            ["flips for the disc.", "naps.", "eats grass.", "runs home."],
            "0",
        ),
        hs_row(
            106,
            "Applying sunscreen",
            "A man squeezes a tube.",
            "He",
            [
                "paints a wall.",
                "eats.",
                "applies it to his nose.",
                "cries.",
            ],
            "2",
        ),
    ];
    in_split("val", rows)
}

fn fixture_test_rows() -> Vec<Row> {
    let rows = vec![
        hs_row(
            200,
            "Disc dog",
            "A dog waits.",
            "It",
            ["jumps.", "sits.", "runs.", "rolls."],
            "",
        ),
        hs_row(
            201,
            "Applying sunscreen",
            "A man opens a bottle.",
            "He",
            ["sprays.", "drinks.", "sleeps.", "waves."],
            "",
        ),
    ];
    in_split("test", rows)
}

fn fixture_readme() -> String {
    let mut text = String::from("---\nconfigs:\n- config_name: default\n  data_files:\n");
    for split in ["train", "test", "validation"] {
        text.push_str(&format!("  - split: {split}\n    path: data/{split}-*\n"));
    }
    text.push_str("---\n\n# HellaSwag (fixture)\n");
    text
}

fn fixture() -> Fixture {
    let rows = |split: &str, rows: Vec<Row>| {
        FixtureFile::rows(format!("data/{split}-00000-of-00001.parquet"), rows)
    };
    Fixture {
        repo: REPO,
        files: vec![
            FixtureFile::readme(fixture_readme()),
            rows("train", fixture_train_rows()),
            rows("test", fixture_test_rows()),
            rows("validation", fixture_validation_rows()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        assert_invalid, assert_user_problem, build, paths, readme, req, unknown_tasks,
    };
    use super::*;

    const DOG_QUERY: &str = "A dog runs across a field. It\nA. catches the disc.\nB. sleeps.\n\
         C. sings.\nD. reads.\nAnswer:\n\nOutput 'A', 'B', 'C', or 'D'. Full answer not needed.";

    #[test]
    fn zero_shot_prompt_is_byte_exact() {
        let problems = build(&Hellaswag, &req(Some(&["Disc dog"]), 0, false));
        let expected = format!(
            "The following are multiple choice questions (with answers) are sentence \
             completion problems about Disc dog.\n\n{DOG_QUERY}"
        );
        assert_user_problem(&problems[0], &expected, "A", "Disc dog", 5);
    }

    #[test]
    fn few_shots_are_first_row_per_activity_label() {
        let problems = build(&Hellaswag, &req(Some(&["disc dog"]), 2, false));
        assert_eq!(
            problems[0].prompt,
            format!(
                "The following are multiple choice questions (with answers) are sentence \
                 completion problems about Disc dog.\n\n\
                 Train context 0 about applying sunscreen. Then someone\nA. goes left.\n\
                 B. goes right.\nC. stops.\nD. jumps.\nAnswer: A\n\n\
                 Train context 1 about disc dog. Then someone\nA. goes left.\nB. goes right.\n\
                 C. stops.\nD. jumps.\nAnswer: B\n\n{DOG_QUERY}"
            )
        );
        // Ten shots skip the repeated labels (train rows 2 and 6).
        let ten = build(&Hellaswag, &req(Some(&["Disc dog"]), 10, false));
        let prompt = &ten[0].prompt;
        assert_eq!(prompt.matches("Train context").count(), 10);
        assert!(!prompt.contains("Train context 2 "));
        assert!(!prompt.contains("Train context 6 "));
        assert!(prompt.contains("Train context 11 about mixing drinks."));
        assert!(!prompt.contains("Train context 12 "));
        // CoT is ignored.
        let cot = build(&Hellaswag, &req(Some(&["Disc dog"]), 10, true));
        assert_eq!(cot[0].prompt, *prompt);
    }

    #[test]
    fn tasks_order_filtering_and_ground_truths() {
        let problems = build(
            &Hellaswag,
            &req(Some(&["APPLYING_SUNSCREEN", "Disc dog"]), 10, false),
        );
        let tasks: Vec<&str> = problems.iter().map(|p| p.task.as_str()).collect();
        assert_eq!(
            tasks,
            [
                "Applying sunscreen",
                "Applying sunscreen",
                "Applying sunscreen",
                "Disc dog",
                "Disc dog",
                "Disc dog"
            ]
        );
        let golds: Vec<&str> = problems.iter().map(|p| p.ground_truth.as_str()).collect();
        assert_eq!(golds, ["B", "A", "C", "A", "C", "A"]);
        // Every task, in DeepEval's enum order (Applying sunscreen, ..., Disc dog, ..., Sailing).
        let all = build(&Hellaswag, &req(None, 10, false));
        let tasks: Vec<&str> = all.iter().map(|p| p.task.as_str()).collect();
        assert_eq!(tasks.len(), 7);
        assert_eq!(tasks[0], "Applying sunscreen");
        assert_eq!(tasks[3], "Disc dog");
        assert_eq!(tasks[6], "Sailing");
        assert_eq!(build(&Hellaswag, &req(Some(&["ALL"]), 10, false)).len(), 7);
    }

    #[test]
    fn unlabelled_rows_are_skipped() {
        let r = req(Some(&["Disc dog"]), 0, false);
        let mut rows = vec![fixture_validation_rows(), fixture_train_rows()];
        rows[0][0].insert("label".into(), json!(""));
        rows[0][2].insert("label".into(), Value::Null);
        let problems = Hellaswag.build(&r, &rows).expect("build");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].prompt.contains("A crowd watches a dog."));
    }

    #[test]
    fn bad_requests_and_rows() {
        let (unknown, available) =
            unknown_tasks(&Hellaswag, &req(Some(&["Disc dog", "Disc cat"]), 10, false));
        assert_eq!(unknown, "Disc cat");
        assert!(available.starts_with("Applying sunscreen, "));
        assert_invalid(&Hellaswag, &req(Some(&["all", "Disc dog"]), 10, false));
        assert_invalid(&Hellaswag, &req(None, 16, false));
        assert!(Hellaswag
            .sources(&req(
                Some(&["CARS_AND_OTHER_VEHICLES", "cars & other vehicles"]),
                15,
                false
            ))
            .is_ok());
        let r = req(Some(&["Disc dog"]), 10, false);
        let short = vec![
            fixture_validation_rows(),
            fixture_train_rows()[..5].to_vec(),
        ];
        assert!(matches!(
            Hellaswag.build(&r, &short),
            Err(AccuracyError::Invalid(_))
        ));
        let mut rows = vec![fixture_validation_rows(), fixture_train_rows()];
        rows[0][2].insert("endings".into(), json!(["a", "b", "c"]));
        assert_eq!(
            Hellaswag.build(&r, &rows),
            Err(AccuracyError::BadRow {
                source_name: "Rowan/hellaswag:validation".into(),
                row: 2,
                reason: "column `endings` has fewer than 4 entries".into(),
            })
        );
        rows[0][2].insert("label".into(), json!("7"));
        assert!(matches!(
            Hellaswag.build(&r, &rows),
            Err(AccuracyError::BadRow { row: 2, .. })
        ));
    }

    #[test]
    fn task_table_matches_deepeval() {
        assert_eq!(TASKS.len(), 192);
        assert_eq!(TASKS[0], ("APPLYING_SUNSCREEN", "Applying sunscreen"));
        assert_eq!(TASKS[191], ("CROQUET", "Croquet"));
        let labels: HashSet<&str> = TASKS.iter().map(|(_, l)| *l).collect();
        assert_eq!(labels.len(), 192);
    }

    #[test]
    fn oracle_answers_round_trip() {
        for p in build(&Hellaswag, &req(None, 10, false)) {
            assert_eq!(Hellaswag.oracle_answer(&p, true), p.ground_truth);
            let wrong = Hellaswag.oracle_answer(&p, false);
            assert_ne!(wrong.trim(), p.ground_truth.trim());
            assert!(LETTERS.contains(&wrong.as_str()));
        }
    }

    #[test]
    fn fixture_has_real_layout() {
        assert_eq!(
            paths(&Hellaswag),
            [
                "README.md",
                "data/train-00000-of-00001.parquet",
                "data/test-00000-of-00001.parquet",
                "data/validation-00000-of-00001.parquet"
            ]
        );
        assert!(readme(&Hellaswag).contains("  - split: validation\n    path: data/validation-*\n"));
        let row = &fixture_validation_rows()[0];
        assert_eq!(row["label"], json!("0"));
        assert_eq!(row["ind"], json!(100));
        assert_eq!(row["ctx"], json!("A dog runs across a field. It"));
    }
}
