//! `tamis launch k8s`: the same stages as Kubernetes Indexed Jobs, printed as YAML for `kubectl apply`.
//!
//! Each stage is one Job with `completionMode: Indexed`: pod `i` gets `JOB_COMPLETION_INDEX=i`, and
//! `TAMIS_SHARD_COUNT` carries the task count (Kubernetes does not pass `completions` to the pod), which
//! tamis turns into `--shard i/N` (see `crate::shard`). `backoffLimitPerIndex` retries each failed index
//! on its own (Kubernetes 1.29+). Kubernetes has no dependencies between Jobs, so the stages are applied
//! one after another, each once the last is complete (the comment at the top of the output shows how).
//! The config and every path in it must be where the pods see them: a volume mounted at the same path.

use serde::{Deserialize, Serialize};

use super::{Stage, task_args};

/// `[k8s]`: the pods' image, resources and storage. Host-only settings, like `[slurm]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct K8sSettings {
    /// An image holding the `tamis` binary.
    pub image: String,
    /// The binary's path in the image.
    pub tamis: String,
    pub namespace: Option<String>,
    /// Tasks of each stage that splits.
    pub tasks: usize,
    /// CPUs per pod (also each task's `--workers`).
    pub cpus: usize,
    /// Memory per pod, e.g. `"8Gi"`.
    pub memory: Option<String>,
    /// Retries of each failed index.
    pub retries: u32,
    /// A PersistentVolumeClaim mounted at `mount` in every pod: the config, the inputs and the outputs.
    pub volume_claim: Option<String>,
    pub mount: String,
    /// Prefix of the Jobs' names.
    pub name: String,
}

impl Default for K8sSettings {
    fn default() -> Self {
        Self {
            image: "tamis:latest".into(),
            tamis: "/usr/local/bin/tamis".into(),
            namespace: None,
            tasks: 4,
            cpus: 1,
            memory: None,
            retries: 2,
            volume_claim: None,
            mount: "/data".into(),
            name: "tamis".into(),
        }
    }
}

/// A YAML double-quoted string (JSON's escapes are valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The manifests of every stage, in order, with the commands to apply them in turn.
pub fn manifests(settings: &K8sSettings, stages: &[Stage]) -> String {
    let ns = settings
        .namespace
        .as_deref()
        .map(|n| format!(" -n {n}"))
        .unwrap_or_default();
    let mut out = String::from(
        "# tamis launch k8s: one Indexed Job per stage. Apply them in order, each after the last completes:\n",
    );
    for stage in stages {
        let name = format!("{}-{}", settings.name, stage.name);
        out.push_str(&format!(
            "#   tamis launch k8s CONFIG --stages {} | kubectl{ns} apply -f - && kubectl{ns} wait --for=condition=complete --timeout=-1s job/{name}\n",
            stage.name
        ));
    }
    for stage in stages {
        let name = format!("{}-{}", settings.name, stage.name);
        let workers = stage.workers.then_some(settings.cpus);
        // The pod's share comes from JOB_COMPLETION_INDEX and TAMIS_SHARD_COUNT, not from --shard.
        let unsplit = Stage {
            split: false,
            ..stage.clone()
        };
        let mut command = vec![settings.tamis.clone()];
        command.extend(task_args(&unsplit, "", workers));
        out.push_str("---\napiVersion: batch/v1\nkind: Job\nmetadata:\n");
        out.push_str(&format!("  name: {}\n", q(&name)));
        if let Some(n) = &settings.namespace {
            out.push_str(&format!("  namespace: {}\n", q(n)));
        }
        out.push_str("spec:\n  completionMode: Indexed\n");
        out.push_str(&format!(
            "  completions: {}\n  parallelism: {}\n  backoffLimitPerIndex: {}\n  maxFailedIndexes: 0\n",
            stage.tasks, stage.tasks, settings.retries
        ));
        out.push_str("  template:\n    spec:\n      restartPolicy: Never\n      containers:\n");
        out.push_str(&format!(
            "      - name: tamis\n        image: {}\n        command: [{}]\n",
            q(&settings.image),
            command.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")
        ));
        out.push_str(&format!(
            "        env:\n        - name: TAMIS_SHARD_COUNT\n          value: {}\n",
            q(&stage.tasks.to_string())
        ));
        out.push_str(&format!(
            "        resources:\n          requests:\n            cpu: {}\n",
            q(&settings.cpus.to_string())
        ));
        if let Some(m) = &settings.memory {
            out.push_str(&format!(
                "            memory: {}\n          limits:\n            memory: {}\n",
                q(m),
                q(m)
            ));
        }
        if let Some(claim) = &settings.volume_claim {
            out.push_str(&format!(
                "        volumeMounts:\n        - name: data\n          mountPath: {}\n      volumes:\n      - name: data\n        persistentVolumeClaim:\n          claimName: {}\n",
                q(&settings.mount),
                q(claim)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_stage_is_an_indexed_job_with_its_count() {
        let stage = Stage {
            name: "run".into(),
            args: vec!["run".into(), "/data/tamis.toml".into()],
            tasks: 8,
            split: true,
            workers: true,
        };
        let yaml = manifests(&K8sSettings::default(), &[stage]);
        assert!(yaml.contains("completionMode: Indexed"), "{yaml}");
        assert!(yaml.contains("completions: 8"), "{yaml}");
        assert!(yaml.contains("value: \"8\""), "{yaml}");
        assert!(
            yaml.contains(
                r#"command: ["/usr/local/bin/tamis", "run", "/data/tamis.toml", "--workers", "1", "--quiet"]"#
            ),
            "{yaml}"
        );
        assert!(!yaml.contains("--shard"), "{yaml}");
    }
}
