//! Which local command stands in for a container image.
//!
//! This project's images (any whose repository name starts with `eventdriven`) run the
//! `eventdriven` binary that is running now; `--image IMAGE=COMMAND` adds or overrides others,
//! such as a workflow's listener image (`--image …/cookie-report-handlers=cookie-report-handlers`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use eventdriven_core::spec::PREFIX;

#[derive(Clone, Debug, Default)]
pub struct ImageMap {
    /// Image reference (with or without tag) -> command and its leading arguments.
    overrides: BTreeMap<String, Vec<String>>,
    /// The binary this project's images map to.
    own_binary: Option<PathBuf>,
}

impl ImageMap {
    /// Maps this project's images to `own_binary` and the `IMAGE=COMMAND` pairs given.
    pub fn new(own_binary: PathBuf, pairs: &[String]) -> Result<Self, String> {
        let mut overrides = BTreeMap::new();
        for pair in pairs {
            let (image, command) = pair
                .split_once('=')
                .ok_or_else(|| format!("--image {pair:?}: expected IMAGE=COMMAND"))?;
            let command: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
            if image.is_empty() || command.is_empty() {
                return Err(format!("--image {pair:?}: expected IMAGE=COMMAND"));
            }
            overrides.insert(image.to_owned(), command);
        }
        Ok(ImageMap {
            overrides,
            own_binary: Some(own_binary),
        })
    }

    /// The entrypoint of a Lambda image: `eventdriven lambda` for this project's images, the
    /// mapped command for others.
    pub fn lambda_command(&self, image: &str) -> Result<Vec<String>, String> {
        let mut command = self.command(image)?;
        if self.is_own(image) {
            command.push("lambda".into());
        }
        Ok(command)
    }

    fn is_own(&self, image: &str) -> bool {
        let untagged = untagged(image);
        let repository = untagged.rsplit('/').next().unwrap_or(untagged);
        !self.overrides.contains_key(image) && !self.overrides.contains_key(untagged) && repository.starts_with(PREFIX)
    }

    /// The command an image's entrypoint runs, or an error that says how to map it.
    pub fn command(&self, image: &str) -> Result<Vec<String>, String> {
        let untagged = untagged(image);
        if let Some(command) = self.overrides.get(image).or_else(|| self.overrides.get(untagged)) {
            return Ok(command.clone());
        }
        let repository = untagged.rsplit('/').next().unwrap_or(untagged);
        match &self.own_binary {
            Some(binary) if repository.starts_with(PREFIX) => Ok(vec![binary.display().to_string()]),
            _ => Err(format!(
                "no local command for the image {image:?}; map it with --image {untagged}=COMMAND"
            )),
        }
    }
}

/// The image reference without its tag (a registry port is not a tag).
fn untagged(image: &str) -> &str {
    image
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .map_or(image, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_images_run_this_binary_and_overrides_win() {
        let map = ImageMap::new(
            "/bin/eventdriven".into(),
            &[
                "other:1=/usr/bin/env A=1".into(),
                "123.dkr.ecr.r.amazonaws.com/eventdriven=/bin/false".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            map.command("1.dkr.ecr.eu-west-1.amazonaws.com/eventdriven:1.0")
                .unwrap(),
            ["/bin/eventdriven"]
        );
        assert_eq!(
            map.command("localhost:5000/eventdriven-lambda:2").unwrap(),
            ["/bin/eventdriven"]
        );
        assert_eq!(map.command("other:1").unwrap(), ["/usr/bin/env", "A=1"]);
        assert_eq!(
            map.lambda_command("r/eventdriven-lambda:1").unwrap(),
            ["/bin/eventdriven", "lambda"]
        );
        assert_eq!(map.lambda_command("other:1").unwrap(), ["/usr/bin/env", "A=1"]);
        assert_eq!(
            map.command("123.dkr.ecr.r.amazonaws.com/eventdriven:7").unwrap(),
            ["/bin/false"]
        );
        let err = map.command("nginx:latest").unwrap_err();
        assert!(err.contains("--image nginx=COMMAND"), "{err}");
        assert!(ImageMap::new("/x".into(), &["nocommand".into()]).is_err());
    }
}
