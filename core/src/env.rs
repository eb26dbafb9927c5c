//! Where each runtime setting gets its value, in a Job or in the Lambda.
//!
//! One function answers for every setting of [`contract::SETTINGS`], so the Job manifests and the
//! Lambda's environment cannot drift apart, and a setting added to the contract without a source
//! here fails the tests instead of a run.

use std::collections::BTreeMap;

use crate::contract::{self, Step};
use crate::pace;
use crate::paths::{self, Scope};
use crate::refs::DeployedRefs;
use crate::spec::PipelineSpec;

/// Where the shared work directory is mounted, in Job pods and in the Lambda (whose file
/// systems must be mounted under `/mnt`).
pub const WORK_DIR_MOUNT: &str = "/mnt/work";

/// A setting's value: known when rendering, or read by Step Functions from the state at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvValue {
    Static(String),
    /// A JSONPath or intrinsic function, rendered as a `value.$` entry.
    Dynamic(String),
}

/// The value of setting `name` for `step`, or `None` when it has none there (an unset optional
/// setting, or one the step's scope cannot see).
pub fn setting_value(name: &str, step: Step, spec: &PipelineSpec, refs: &DeployedRefs) -> Option<EnvValue> {
    let scope = Scope::of(step);
    let value = match name {
        contract::PIPELINE_NAME => EnvValue::Static(spec.name.clone()),
        contract::RUN_ID => EnvValue::Dynamic(scope.run_id()),
        contract::INPUT_URL => EnvValue::Dynamic(scope.input_url()?),
        contract::OUTPUT_URL => EnvValue::Dynamic(output_url(spec, refs, scope)),
        contract::WORK_DIR => EnvValue::Static(WORK_DIR_MOUNT.to_owned()),
        contract::REDIS_URL => EnvValue::Static(refs.redis_url.clone()),
        contract::REDIS_AUTH_SECRET_ARN => EnvValue::Static(refs.redis_auth_secret_arn.clone()?),
        contract::TABLE_URL if spec.table => EnvValue::Static(format!("dynamodb://{}", refs.table_name)),
        contract::TABLE_URL => return None,
        // Only a user's step needs the plain names; the built-in one reads the URLs.
        contract::TABLE_NAME if user_step(step, spec) && spec.table => EnvValue::Static(refs.table_name.clone()),
        contract::TABLE_NAME => return None,
        contract::BUCKET if user_step(step, spec) => EnvValue::Static(refs.bucket_name.clone()),
        contract::BUCKET => return None,
        contract::MAX_LINES_PER_BATCH => EnvValue::Static(spec.max_lines_per_batch.to_string()),
        contract::CHUNK => EnvValue::Dynamic(scope.chunk()?),
        contract::CHUNK_LIST_URL => EnvValue::Dynamic(paths::chunk_list(
            &format!("s3://{}/", refs.bucket_name),
            &scope.run_id(),
        )),
        contract::RECORD if matches!(step, Step::Split | Step::Process | Step::Merge) => {
            EnvValue::Static(serde_json::to_string(spec.record.as_ref()?).expect("a spec serializes"))
        }
        contract::RECORD => return None,
        // Only the built-in step writes the table itself, and so paces its writes.
        contract::TABLE_WRITE_UNITS if built_in_writer(step, spec) => {
            EnvValue::Static(pace::table_write_units(spec).to_string())
        }
        contract::MAX_CONCURRENCY if built_in_writer(step, spec) => EnvValue::Static(spec.max_concurrency.to_string()),
        contract::RUN_CHUNKS if built_in_writer(step, spec) => EnvValue::Dynamic(scope.run_chunks()?),
        contract::TABLE_WRITE_UNITS | contract::MAX_CONCURRENCY | contract::RUN_CHUNKS => return None,
        contract::KEEP_WORK if step == Step::Merge && spec.keep_work => EnvValue::Static("true".to_owned()),
        contract::KEEP_WORK => return None,
        _ => return None,
    };
    Some(value)
}

/// Whether `step` runs the user's command (the process step of a pipeline with a `process` block).
fn user_step(step: Step, spec: &PipelineSpec) -> bool {
    step == Step::Process && spec.process.is_some()
}

/// Whether `step` is the built-in process step of a pipeline with a table: the one Job that
/// writes the table.
fn built_in_writer(step: Step, spec: &PipelineSpec) -> bool {
    step == Step::Process && spec.process.is_none() && spec.table
}

/// `s3://<bucket>/<output_prefix><run id>.csv`: one result per run, under the output prefix so
/// it never triggers another run.
fn output_url(spec: &PipelineSpec, refs: &DeployedRefs, scope: Scope) -> String {
    let template = format!(
        "s3://{}/{}{{}}.csv",
        paths::literal(&refs.bucket_name),
        paths::literal(&spec.output_prefix)
    );
    paths::format(&template, &[&scope.run_id()])
}

/// The output prefix an [`output_url`] template embeds, read back.
pub fn output_prefix_of(template: &str) -> Option<String> {
    let pieces = paths::format_pieces(template)?;
    let (_bucket, prefix) = pieces.first()?.strip_prefix("s3://")?.split_once('/')?;
    Some(prefix.to_owned())
}

/// The settings a Job for `step` gets, in contract order: those it requires, plus the optional
/// ones (required by no step) that have a value.
pub fn job_settings(step: Step, spec: &PipelineSpec, refs: &DeployedRefs) -> Vec<(&'static str, EnvValue)> {
    contract::SETTINGS
        .iter()
        .filter(|s| s.required_by.contains(&step) || s.required_by.is_empty())
        .filter_map(|s| Some((s.name, setting_value(s.name, step, spec, refs)?)))
        .collect()
}

/// The list-chunks Lambda's environment. A Lambda's environment is static, so dynamic settings
/// are left out: the run id arrives in the payload's [`contract::LIST_CHUNKS_RUN_ID_FIELD`].
pub fn lambda_environment(spec: &PipelineSpec, refs: &DeployedRefs) -> BTreeMap<String, String> {
    job_settings(Step::ListChunks, spec, refs)
        .into_iter()
        .filter_map(|(name, value)| match value {
            EnvValue::Static(value) => Some((name.to_owned(), value)),
            EnvValue::Dynamic(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::record::RecordSpec;

    #[test]
    fn every_setting_has_a_source_in_some_step() {
        let (mut spec, refs) = (fixtures::spec(), fixtures::refs());
        spec.keep_work = true;
        spec.record = Some(RecordSpec::orders());
        // The built-in step's settings, and those of a user's step.
        let mut user_step = spec.clone();
        user_step.process = Some(fixtures::process());
        for setting in contract::SETTINGS {
            assert!(
                [&spec, &user_step]
                    .iter()
                    .any(|spec| Step::ALL
                        .iter()
                        .any(|step| setting_value(setting.name, *step, spec, &refs).is_some())),
                "{} has no source",
                setting.name
            );
        }
    }

    #[test]
    fn every_step_gets_what_it_requires() {
        let (spec, refs) = (fixtures::spec(), fixtures::refs());
        for step in Step::ALL {
            let names: Vec<_> = job_settings(step, &spec, &refs).into_iter().map(|(n, _)| n).collect();
            for required in contract::required_for(step) {
                assert!(names.contains(&required), "{step:?} lacks {required}");
            }
        }
    }

    #[test]
    fn the_record_reaches_the_jobs_that_read_rows_only_when_declared() {
        let (mut spec, refs) = (fixtures::spec(), fixtures::refs());
        let value = |spec: &PipelineSpec, step| setting_value(contract::RECORD, step, spec, &refs);
        assert_eq!(value(&spec, Step::Process), None, "undeclared: the order layout");
        spec.record = Some(RecordSpec::orders());
        for step in [Step::Split, Step::Process, Step::Merge] {
            let Some(EnvValue::Static(json)) = value(&spec, step) else {
                panic!("{step:?} lacks the record")
            };
            assert_eq!(serde_json::from_str::<RecordSpec>(&json).ok(), spec.record);
        }
        assert_eq!(value(&spec, Step::ListChunks), None);
        assert!(!lambda_environment(&spec, &refs).contains_key(contract::RECORD));
    }

    #[test]
    fn a_user_s_step_gets_the_table_and_bucket_names_and_a_tableless_pipeline_no_table() {
        let (mut spec, refs) = (fixtures::spec(), fixtures::refs());
        let names = |spec: &PipelineSpec, step| -> Vec<&str> {
            job_settings(step, spec, &refs).into_iter().map(|(n, _)| n).collect()
        };
        let plain = [contract::TABLE_NAME, contract::BUCKET];
        for step in Step::ALL {
            assert!(!names(&spec, step).iter().any(|n| plain.contains(n)), "{step:?}");
        }
        spec.process = Some(fixtures::process());
        let process = names(&spec, Step::Process);
        assert!(plain.iter().all(|n| process.contains(n)), "{process:?}");
        assert!(process.contains(&contract::TABLE_URL));
        assert_eq!(
            setting_value(contract::TABLE_NAME, Step::Process, &spec, &refs),
            Some(EnvValue::Static("eventdriven-orders-orders".into()))
        );
        assert!(!names(&spec, Step::Merge).contains(&contract::BUCKET));
        spec.table = false;
        for step in Step::ALL {
            let names = names(&spec, step);
            assert!(
                !names.contains(&contract::TABLE_URL) && !names.contains(&contract::TABLE_NAME),
                "{step:?}"
            );
        }
        assert!(names(&spec, Step::Process).contains(&contract::BUCKET));
    }

    #[test]
    fn only_the_built_in_step_with_a_table_is_told_how_to_pace_its_writes() {
        let (mut spec, refs) = (fixtures::spec(), fixtures::refs());
        spec.table_warm_write_units = Some(40_000);
        spec.max_concurrency = 100;
        let value = |spec: &PipelineSpec, name| setting_value(name, Step::Process, spec, &refs);
        assert_eq!(
            value(&spec, contract::TABLE_WRITE_UNITS),
            Some(EnvValue::Static("40000".into()))
        );
        assert_eq!(
            value(&spec, contract::MAX_CONCURRENCY),
            Some(EnvValue::Static("100".into()))
        );
        assert_eq!(
            value(&spec, contract::RUN_CHUNKS),
            Some(EnvValue::Dynamic("States.Format('{}', $.run_chunks)".into()))
        );
        let pacing = [
            contract::TABLE_WRITE_UNITS,
            contract::MAX_CONCURRENCY,
            contract::RUN_CHUNKS,
        ];
        for step in [Step::Split, Step::ListChunks, Step::Merge] {
            assert!(
                pacing
                    .iter()
                    .all(|name| setting_value(name, step, &spec, &refs).is_none()),
                "{step:?}"
            );
        }
        spec.process = Some(fixtures::process());
        assert!(pacing.iter().all(|name| value(&spec, name).is_none()), "a user's step");
        spec.table = false;
        assert!(pacing.iter().all(|name| value(&spec, name).is_none()), "no table");
    }

    #[test]
    fn the_secret_arn_is_passed_only_when_there_is_one() {
        let spec = fixtures::spec();
        let mut refs = fixtures::refs();
        let has_secret = |refs: &DeployedRefs| {
            job_settings(Step::Merge, &spec, refs)
                .iter()
                .any(|(n, _)| *n == contract::REDIS_AUTH_SECRET_ARN)
        };
        assert!(has_secret(&refs));
        refs.redis_auth_secret_arn = None;
        assert!(!has_secret(&refs));
    }

    #[test]
    fn urls_and_run_ids_follow_the_scope() {
        let (spec, refs) = (fixtures::spec(), fixtures::refs());
        let value = |name, step| setting_value(name, step, &spec, &refs);
        assert_eq!(
            value(contract::INPUT_URL, Step::Split),
            Some(EnvValue::Dynamic(
                "States.Format('s3://{}/{}', $.detail.bucket.name, $.detail.object.key)".into()
            ))
        );
        assert_eq!(
            value(contract::OUTPUT_URL, Step::Merge),
            Some(EnvValue::Dynamic(
                "States.Format('s3://eventdriven-orders-123456789012/output/{}.csv', $$.Execution.Name)".into()
            ))
        );
        assert_eq!(
            value(contract::RUN_ID, Step::Process),
            Some(EnvValue::Dynamic("$.run_id".into()))
        );
        assert_eq!(
            value(contract::CHUNK, Step::Process),
            Some(EnvValue::Dynamic("$.chunk".into()))
        );
        assert_eq!(value(contract::CHUNK, Step::Split), None);
        assert_eq!(
            value(contract::TABLE_URL, Step::Process),
            Some(EnvValue::Static("dynamodb://eventdriven-orders-orders".into()))
        );
        assert_eq!(
            value(contract::MAX_LINES_PER_BATCH, Step::Split),
            Some(EnvValue::Static("30000".into()))
        );
        assert_eq!(value("NOT_A_SETTING", Step::Split), None);
    }

    #[test]
    fn user_text_in_the_output_url_is_escaped() {
        let mut spec = fixtures::spec();
        spec.output_prefix = "out{put}'s/".into();
        let url = setting_value(contract::OUTPUT_URL, Step::Merge, &spec, &fixtures::refs());
        let Some(EnvValue::Dynamic(url)) = url else {
            panic!("{url:?}")
        };
        assert!(url.contains(r"out\{put\}\'s/{}.csv"), "{url}");
    }

    #[test]
    fn the_lambda_gets_every_static_setting_list_chunks_needs() {
        let (spec, refs) = (fixtures::spec(), fixtures::refs());
        let env = lambda_environment(&spec, &refs);
        let missing: Vec<_> = contract::required_for(Step::ListChunks)
            .filter(|n| !env.contains_key(*n))
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
        assert!(!env.contains_key(contract::RUN_ID), "the run id comes from the payload");
        assert!(
            !env.contains_key(contract::WORK_DIR),
            "the Lambda mounts no file system"
        );
        assert_eq!(env[contract::REDIS_URL], refs.redis_url);
        assert_eq!(
            env.get(contract::REDIS_AUTH_SECRET_ARN),
            refs.redis_auth_secret_arn.as_ref()
        );
    }
}
