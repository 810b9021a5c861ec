//! `capture calibrate`: making and checking the rig calibration file every process reads.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use shared::geometry::Calibration;
use std::path::PathBuf;

/// What `capture calibrate` does.
#[derive(Debug, Subcommand)]
pub enum CalibrateCommand {
    /// Write the built-in synthetic rig's calibration (for files or RTSP streams of the
    /// synthetic pitch, tests and the soak).
    Synthetic(SyntheticArgs),
}

#[derive(Debug, Args)]
pub struct SyntheticArgs {
    /// Where to write the calibration (TOML).
    #[arg(long)]
    pub out: PathBuf,
    /// Panorama width (height is a third of it).
    #[arg(long, default_value_t = 1920)]
    pub panorama_width: u32,
    /// Camera image size.
    #[arg(long, default_value_t = 960)]
    pub camera_width: u32,
    #[arg(long, default_value_t = 540)]
    pub camera_height: u32,
}

pub fn run(cmd: CalibrateCommand) -> Result<()> {
    match cmd {
        CalibrateCommand::Synthetic(a) => {
            let c = Calibration::synthetic(a.panorama_width, a.camera_width, a.camera_height);
            c.validate().context("the synthetic rig at this size")?;
            std::fs::write(&a.out, c.to_toml_string())
                .with_context(|| format!("writing {}", a.out.display()))?;
            eprintln!(
                "calibrate: the synthetic rig written to {}",
                a.out.display()
            );
            Ok(())
        }
    }
}
