//! Model files and checkpoints in the safetensors format, with the architecture as JSON.
//!
//! A safetensors file is: 8 bytes little-endian `N`, `N` bytes of JSON header (padded with
//! spaces to a multiple of 8), then the raw little-endian tensor data. The header maps each
//! tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets into the data
//! part) and carries string metadata under `"__metadata__"`. Loading executes nothing and
//! checks everything: header size, offsets (in bounds, contiguous, no overlap), dtypes,
//! shapes against the architecture, and finiteness.
//!
//! A **model file** (`format = "regml-nn-model"`, version 1) holds the parameters
//! (`layers.{i}.kernel` of shape `(inputs, units)`, `layers.{i}.bias`, `layers.{i}.gamma`,
//! `layers.{i}.beta`, `layers.{i}.running_mean`, `layers.{i}.running_var`) and the metadata
//! key `regml` with the architecture JSON: `n_inputs`, `layers` (see [`LayerSpec`]), `loss`,
//! `preprocessing`, `feature_names`, `classes`. A **checkpoint** adds the optimizer moments
//! (`optimizer.m`, `optimizer.v`), the early-stopping best weights (`best.params`,
//! `best.state`) and the key `regml_trainer` (settings, schedule state, history, step count).

use super::layers::LayerSpec;
use super::loss::Loss;
use super::model::{Preprocessing, Sequential};
use super::schedule::ScheduleState;
use super::train::{Best, FitConfig, History, Trainer};
use super::Real;
use crate::model::write_atomic;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Largest model or checkpoint file accepted on load (4 GiB).
pub const MAX_MODEL_BYTES: u64 = 1 << 32;
/// Largest safetensors JSON header accepted (16 MiB).
const MAX_HEADER_BYTES: u64 = 1 << 24;

const FORMAT: &str = "regml-nn-model";
const FORMAT_VERSION: u32 = 1;

/// One tensor read from or written to a safetensors file.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Name.
    pub name: String,
    /// `F32` or `F64`.
    pub dtype: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Little-endian bytes.
    pub data: Vec<u8>,
}

impl Tensor {
    /// A tensor from values of the network's float type.
    pub fn from_values<F: Real>(name: &str, shape: Vec<usize>, values: &[F]) -> Self {
        let mut data = Vec::with_capacity(values.len() * F::BYTES);
        for &v in values {
            v.put_le(&mut data);
        }
        Tensor {
            name: name.to_string(),
            dtype: F::DTYPE.to_string(),
            shape,
            data,
        }
    }

    /// The values converted to `F` (`F32 -> f64` is exact; `F64 -> f32` rounds).
    pub fn values<F: Real>(&self) -> Vec<F> {
        match self.dtype.as_str() {
            "F32" => self
                .data
                .chunks_exact(4)
                .map(|c| F::of(f32::get_le(c) as f64))
                .collect(),
            _ => self
                .data
                .chunks_exact(8)
                .map(|c| F::of(f64::get_le(c)))
                .collect(),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

/// Serializes tensors and string metadata as safetensors bytes.
pub fn write_safetensors(tensors: &[Tensor], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert(
            "__metadata__".into(),
            serde_json::to_value(metadata).unwrap_or_default(),
        );
    }
    let mut offset = 0u64;
    for t in tensors {
        let end = offset + t.data.len() as u64;
        let entry = HeaderEntry {
            dtype: t.dtype.clone(),
            shape: t.shape.clone(),
            data_offsets: [offset, end],
        };
        header.insert(
            t.name.clone(),
            serde_json::to_value(entry).unwrap_or_default(),
        );
        offset = end;
    }
    let mut h = serde_json::Value::Object(header).to_string().into_bytes();
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + h.len() + offset as usize);
    out.extend_from_slice(&(h.len() as u64).to_le_bytes());
    out.extend_from_slice(&h);
    for t in tensors {
        out.extend_from_slice(&t.data);
    }
    out
}

/// Parses safetensors bytes, validating the header and every tensor's extent.
pub fn read_safetensors(
    bytes: &[u8],
) -> std::result::Result<(Vec<Tensor>, BTreeMap<String, String>), String> {
    if bytes.len() < 8 {
        return Err("truncated: shorter than the 8-byte header length".into());
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&bytes[..8]);
    let n = u64::from_le_bytes(n);
    if n > MAX_HEADER_BYTES {
        return Err(format!(
            "header of {n} bytes exceeds the limit of {MAX_HEADER_BYTES}"
        ));
    }
    let n = n as usize;
    if 8 + n > bytes.len() {
        return Err("truncated: header runs past the end of the file".into());
    }
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n])
            .map_err(|e| format!("header is not valid JSON: {e}"))?;
    let data = &bytes[8 + n..];
    let mut metadata = BTreeMap::new();
    let mut tensors = Vec::new();
    for (name, v) in header {
        if name == "__metadata__" {
            metadata = serde_json::from_value(v).map_err(|e| format!("metadata: {e}"))?;
            continue;
        }
        let e: HeaderEntry =
            serde_json::from_value(v).map_err(|err| format!("tensor {name}: {err}"))?;
        let width = match e.dtype.as_str() {
            "F32" => 4u64,
            "F64" => 8,
            d => return Err(format!("tensor {name}: unsupported dtype {d}")),
        };
        let count = e
            .shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
            .ok_or_else(|| format!("tensor {name}: shape overflows"))?;
        let [b, end] = e.data_offsets;
        if b > end || end > data.len() as u64 {
            return Err(format!(
                "truncated or corrupt: tensor {name} spans bytes {b}..{end} of {}",
                data.len()
            ));
        }
        if count.checked_mul(width) != Some(end - b) {
            return Err(format!(
                "tensor {name}: shape {:?} needs {} bytes, offsets give {}",
                e.shape,
                count.saturating_mul(width),
                end - b
            ));
        }
        tensors.push((
            b,
            Tensor {
                name,
                dtype: e.dtype,
                shape: e.shape,
                data: data[b as usize..end as usize].to_vec(),
            },
        ));
    }
    tensors.sort_by_key(|(b, _)| *b);
    let mut pos = 0u64;
    for (b, t) in &tensors {
        if *b != pos {
            return Err(format!(
                "tensor {} does not start where the previous one ends",
                t.name
            ));
        }
        pos += t.data.len() as u64;
    }
    if pos != data.len() as u64 {
        return Err(format!(
            "{} trailing bytes after the last tensor",
            data.len() as u64 - pos
        ));
    }
    Ok((tensors.into_iter().map(|(_, t)| t).collect(), metadata))
}

/// The architecture part of a model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Architecture {
    format: String,
    format_version: u32,
    n_inputs: usize,
    layers: Vec<LayerSpec>,
    loss: Loss,
    preprocessing: Preprocessing,
    feature_names: Vec<String>,
    classes: Vec<String>,
}

fn architecture<F: Real>(m: &Sequential<F>) -> Architecture {
    Architecture {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        n_inputs: m.n_inputs(),
        layers: m.specs().to_vec(),
        loss: m.loss(),
        preprocessing: m.preprocessing.clone(),
        feature_names: m.feature_names.clone(),
        classes: m.classes.clone(),
    }
}

fn model_tensors<F: Real>(m: &Sequential<F>) -> Vec<Tensor> {
    let mut t: Vec<Tensor> = m
        .slots()
        .iter()
        .map(|s| Tensor::from_values(&s.name, s.shape.clone(), &m.params[s.range.clone()]))
        .collect();
    for (name, range, n) in m.state_slots() {
        t.push(Tensor::from_values(&name, vec![n], &m.state[range]));
    }
    t
}

fn model_bytes<F: Real>(
    m: &Sequential<F>,
    extra: BTreeMap<String, String>,
    more: Vec<Tensor>,
) -> Result<Vec<u8>> {
    let arch = serde_json::to_string(&architecture(m))
        .map_err(|e| Error::InvalidData(format!("cannot serialize the architecture: {e}")))?;
    let mut meta = extra;
    meta.insert("regml".into(), arch);
    let mut tensors = model_tensors(m);
    tensors.extend(more);
    Ok(write_safetensors(&tensors, &meta))
}

/// Writes a model file atomically (temporary file, fsync, rename).
pub fn save_model<F: Real>(model: &Sequential<F>, path: &Path) -> Result<()> {
    write_atomic(path, &model_bytes(model, BTreeMap::new(), Vec::new())?)
}

fn read_limited(path: &Path) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| Error::Io {
        context: format!("cannot read {}", path.display()),
        source: e,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_MODEL_BYTES {
        return Err(Error::ModelFile {
            file: path.to_path_buf(),
            reason: format!("{len} bytes exceeds the limit of {MAX_MODEL_BYTES}"),
        });
    }
    std::fs::read(path).map_err(io)
}

fn parse_model<F: Real>(
    path: &Path,
    tensors: &[Tensor],
    meta: &BTreeMap<String, String>,
) -> Result<Sequential<F>> {
    let bad = |reason: String| Error::ModelFile {
        file: path.to_path_buf(),
        reason,
    };
    let arch_json = meta
        .get("regml")
        .ok_or_else(|| bad("not a regml network (no `regml` metadata)".into()))?;
    let arch: Architecture =
        serde_json::from_str(arch_json).map_err(|e| bad(format!("architecture: {e}")))?;
    if arch.format != FORMAT {
        return Err(bad(format!(
            "format is {:?}, expected {FORMAT:?}",
            arch.format
        )));
    }
    if arch.format_version != FORMAT_VERSION {
        return Err(bad(format!(
            "format_version {} is not supported (this build reads {FORMAT_VERSION})",
            arch.format_version
        )));
    }
    // the parameters must be in the file: check before allocating for them
    let needed = parameter_count(arch.n_inputs, &arch.layers);
    let held: u64 = tensors.iter().map(|t| t.data.len() as u64).sum();
    if needed.saturating_mul(4) > held {
        return Err(bad(format!(
            "the architecture needs {needed} parameters, the file holds {held} bytes of tensors"
        )));
    }
    let mut m = Sequential::<F>::uninit(arch.n_inputs, arch.layers, arch.loss)
        .map_err(|e| bad(format!("architecture: {e}")))?;
    m.preprocessing = arch.preprocessing;
    m.feature_names = arch.feature_names;
    m.classes = arch.classes;
    m.prepare(ndarray::Array2::<f64>::zeros((0, m.n_inputs())).view())
        .map_err(|e| bad(format!("preprocessing: {e}")))?;
    let by_name: BTreeMap<&str, &Tensor> = tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    let fill = |name: &str, shape: &[usize], dst: &mut [F]| -> Result<()> {
        let t = by_name
            .get(name)
            .ok_or_else(|| bad(format!("missing tensor {name}")))?;
        if t.shape != shape {
            return Err(bad(format!(
                "tensor {name} has shape {:?}, the architecture needs {shape:?}",
                t.shape
            )));
        }
        let v = t.values::<F>();
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(bad(format!("tensor {name} has a non-finite value at {i}")));
        }
        dst.copy_from_slice(&v);
        Ok(())
    };
    let slots = m.slots().to_vec();
    for s in &slots {
        fill(&s.name, &s.shape, &mut m.params[s.range.clone()])?;
    }
    for (name, range, n) in m.state_slots() {
        fill(&name, &[n], &mut m.state[range])?;
    }
    Ok(m)
}

/// Trainable parameters plus batch-norm statistics an architecture holds (saturating).
fn parameter_count(n_inputs: usize, layers: &[LayerSpec]) -> u64 {
    let (mut total, mut width) = (0u64, n_inputs as u64);
    for l in layers {
        match l {
            LayerSpec::Dense {
                units, use_bias, ..
            } => {
                let u = *units as u64;
                total = total
                    .saturating_add(width.saturating_mul(u))
                    .saturating_add(if *use_bias { u } else { 0 });
                width = u;
            }
            LayerSpec::BatchNorm { .. } => total = total.saturating_add(width.saturating_mul(4)),
            _ => {}
        }
    }
    total
}

/// Reads and validates a model file written by [`save_model`].
pub fn load_model<F: Real>(path: &Path) -> Result<Sequential<F>> {
    let bytes = read_limited(path)?;
    let (tensors, meta) = read_safetensors(&bytes).map_err(|reason| Error::ModelFile {
        file: path.to_path_buf(),
        reason,
    })?;
    parse_model(path, &tensors, &meta)
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainerMeta {
    config: FitConfig,
    schedule: ScheduleState,
    history: History,
    step: u64,
    wait: usize,
    best_value: Option<f64>,
    best_epoch: Option<usize>,
}

impl<F: Real> Trainer<F> {
    /// Writes a checkpoint (model, optimizer moments, schedule and early-stopping state,
    /// history) atomically; [`Trainer::load_checkpoint`] continues from it bitwise.
    pub fn save_checkpoint(&self, path: &Path) -> Result<()> {
        let meta = TrainerMeta {
            config: self.config.clone(),
            schedule: self.schedule.clone(),
            history: self.history.clone(),
            step: self.optimizer.step,
            wait: self.wait,
            best_value: self.best.as_ref().map(|b| b.value),
            best_epoch: self.best.as_ref().map(|b| b.epoch),
        };
        let json = serde_json::to_string(&meta)
            .map_err(|e| Error::InvalidData(format!("cannot serialize the trainer: {e}")))?;
        let mut extra = BTreeMap::new();
        extra.insert("regml_trainer".into(), json);
        let mut more = vec![Tensor::from_values(
            "optimizer.m",
            vec![self.optimizer.m.len()],
            &self.optimizer.m,
        )];
        if !self.optimizer.v.is_empty() {
            more.push(Tensor::from_values(
                "optimizer.v",
                vec![self.optimizer.v.len()],
                &self.optimizer.v,
            ));
        }
        if let Some(b) = &self.best {
            if !b.params.is_empty() {
                more.push(Tensor::from_values(
                    "best.params",
                    vec![b.params.len()],
                    &b.params,
                ));
                more.push(Tensor::from_values(
                    "best.state",
                    vec![b.state.len()],
                    &b.state,
                ));
            }
        }
        write_atomic(path, &model_bytes(&self.model, extra, more)?)
    }

    /// Reads a checkpoint written by [`Trainer::save_checkpoint`].
    pub fn load_checkpoint(path: &Path) -> Result<Self> {
        let bytes = read_limited(path)?;
        let bad = |reason: String| Error::ModelFile {
            file: path.to_path_buf(),
            reason,
        };
        let (tensors, meta) = read_safetensors(&bytes).map_err(bad)?;
        let model = parse_model::<F>(path, &tensors, &meta)?;
        let tm: TrainerMeta = serde_json::from_str(
            meta.get("regml_trainer")
                .ok_or_else(|| bad("not a checkpoint (no `regml_trainer` metadata)".into()))?,
        )
        .map_err(|e| bad(format!("trainer state: {e}")))?;
        let find = |name: &str, len: usize| -> Result<Option<Vec<F>>> {
            match tensors.iter().find(|t| t.name == name) {
                None => Ok(None),
                Some(t) if t.shape == [len] => {
                    let v = t.values::<F>();
                    if v.iter().any(|x| !x.is_finite()) {
                        return Err(bad(format!("tensor {name} has a non-finite value")));
                    }
                    Ok(Some(v))
                }
                Some(t) => Err(bad(format!(
                    "tensor {name} has shape {:?}, expected [{len}]",
                    t.shape
                ))),
            }
        };
        let mut trainer =
            Trainer::new(model, tm.config).map_err(|e| bad(format!("settings: {e}")))?;
        let n = trainer.model.params.len();
        trainer.optimizer.step = tm.step;
        trainer.optimizer.m =
            find("optimizer.m", n)?.ok_or_else(|| bad("missing tensor optimizer.m".into()))?;
        if !trainer.optimizer.v.is_empty() {
            trainer.optimizer.v =
                find("optimizer.v", n)?.ok_or_else(|| bad("missing tensor optimizer.v".into()))?;
        }
        trainer.schedule = tm.schedule;
        trainer.history = tm.history;
        trainer.wait = tm.wait;
        if let (Some(value), Some(epoch)) = (tm.best_value, tm.best_epoch) {
            let params = find("best.params", n)?.unwrap_or_default();
            let state = find("best.state", trainer.model.state.len())?.unwrap_or_default();
            trainer.best = Some(Best {
                value,
                epoch,
                params,
                state,
            });
        }
        Ok(trainer)
    }
}
