//! Builds an OCI image layout tarball from layers and an image configuration,
//! with the API containerd-shim-wasm's test helpers call (see Cargo.toml).

use anyhow::{Context, Result};
use oci_spec::image::{ImageConfiguration, MediaType};
use std::io::Write;
use std::path::PathBuf;

/// The media type of a wasm layer, as runwasi names it.
pub const WASM_LAYER_MEDIA_TYPE: &str =
    "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm";

/// Collects an image's layers and configuration, then writes the tarball.
#[derive(Default)]
pub struct Builder {
    config: Option<(ImageConfiguration, String, MediaType)>,
    layers: Vec<(PathBuf, String)>,
}

impl Builder {
    /// The image's configuration, its name (`io.containerd.image.name`) and
    /// the configuration's media type.
    pub fn add_config(
        &mut self,
        config: ImageConfiguration,
        name: String,
        media_type: MediaType,
    ) -> &mut Self {
        self.config = Some((config, name, media_type));
        self
    }

    /// A layer: the file at `layer`, of `media_type`.
    pub fn add_layer_with_media_type(&mut self, layer: &PathBuf, media_type: String) -> &mut Self {
        self.layers.push((layer.clone(), media_type));
        self
    }

    /// Writes the image layout tarball to `w`.
    pub fn build<W: Write>(&mut self, w: W) -> Result<()> {
        let (config, name, config_type) = self.config.as_ref().context("no image configuration")?;
        let mut tar = tar::Builder::new(w);
        let mut put = |path: &str, bytes: &[u8]| -> Result<()> {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, path, bytes)?;
            Ok(())
        };
        let mut blob = |bytes: &[u8], media_type: &str| -> Result<serde_json::Value> {
            let digest = sha256::digest(bytes);
            put(&format!("blobs/sha256/{digest}"), bytes)?;
            Ok(serde_json::json!({
                "mediaType": media_type,
                "digest": format!("sha256:{digest}"),
                "size": bytes.len(),
            }))
        };
        let mut layers = Vec::new();
        for (path, media_type) in &self.layers {
            let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
            layers.push(blob(&bytes, media_type)?);
        }
        let config = blob(&serde_json::to_vec(config)?, &config_type.to_string())?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": layers,
        });
        let mut manifest = blob(
            &serde_json::to_vec(&manifest)?,
            "application/vnd.oci.image.manifest.v1+json",
        )?;
        manifest["annotations"] = serde_json::json!({
            "io.containerd.image.name": name,
            "org.opencontainers.image.ref.name": name.rsplit(':').next().unwrap_or("latest"),
        });
        let index = serde_json::json!({ "schemaVersion": 2, "manifests": [manifest] });
        put("index.json", &serde_json::to_vec(&index)?)?;
        put("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        tar.into_inner()?.flush()?;
        Ok(())
    }
}
