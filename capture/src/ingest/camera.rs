//! One camera's GStreamer pipeline. Each camera runs in its own pipeline so that a camera
//! that fails does not stop the other one.

use super::sources::{camera_pipeline, CameraSource};
use gst::prelude::*;
use std::sync::mpsc::Sender;
use thiserror::Error;

/// What the camera pipelines report to the capture engine.
pub enum IngestEvent {
    Frame {
        cam: usize,
        pts_ns: u64,
        buffer: gst::Buffer,
        info: gst_video::VideoInfo,
    },
    /// The camera's stream ended.
    Eos { cam: usize },
    /// The camera's pipeline failed (camera gone, file unreadable...).
    Error { cam: usize, message: String },
}

#[derive(Debug, Error)]
pub enum CameraError {
    #[error("camera {cam} ({name}): cannot build its pipeline `{description}`: {reason}")]
    Build {
        cam: usize,
        name: String,
        description: String,
        reason: String,
    },
    #[error("camera {cam} ({name}): cannot start `{description}`: {reason}; check that the source exists and is reachable")]
    Start {
        cam: usize,
        name: String,
        description: String,
        reason: String,
    },
}

/// A running camera pipeline.
pub struct CameraPipeline {
    pub cam: usize,
    pub pipeline: gst::Pipeline,
    /// The `appsrc` of a synthetic camera.
    pub appsrc: Option<gst_app::AppSrc>,
    bus_thread: Option<std::thread::JoinHandle<()>>,
    bus_stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CameraPipeline {
    /// Builds the pipeline, connects its sink to `events` and starts it.
    pub fn start(
        cam: usize,
        name: &str,
        source: &CameraSource,
        size: (u32, u32),
        fps: u32,
        events: Sender<IngestEvent>,
    ) -> Result<CameraPipeline, CameraError> {
        let description = camera_pipeline(source, size.0, size.1, fps);
        let build_err = |reason: String| CameraError::Build {
            cam,
            name: name.to_string(),
            description: description.clone(),
            reason,
        };
        let pipeline = gst::parse::launch(&description)
            .map_err(|e| build_err(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| build_err("not a pipeline".into()))?;
        let sink = pipeline
            .by_name("sink")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or_else(|| build_err("no appsink named `sink`".into()))?;
        let appsrc = pipeline
            .by_name("src")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok());
        let frames = events.clone();
        let eos = events.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let (Some(buffer), Some(caps)) = (sample.buffer_owned(), sample.caps()) else {
                        return Ok(gst::FlowSuccess::Ok);
                    };
                    let Ok(info) = gst_video::VideoInfo::from_caps(caps) else {
                        return Err(gst::FlowError::NotNegotiated);
                    };
                    let Some(pts) = buffer.pts() else {
                        return Ok(gst::FlowSuccess::Ok);
                    };
                    frames
                        .send(IngestEvent::Frame {
                            cam,
                            pts_ns: pts.nseconds(),
                            buffer,
                            info,
                        })
                        .map_err(|_| gst::FlowError::Flushing)?;
                    Ok(gst::FlowSuccess::Ok)
                })
                .eos(move |_| {
                    let _ = eos.send(IngestEvent::Eos { cam });
                })
                .build(),
        );
        let bus = pipeline.bus().expect("a pipeline has a bus");
        let errors = events;
        let bus_stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop_flag = bus_stop.clone();
        let bus_thread = std::thread::Builder::new()
            .name(format!("cam{cam}-bus"))
            .spawn(move || {
                // Polls with a timeout: a bus set to flushing (pipeline stopped) delivers
                // nothing more, so the stop flag is what ends this thread.
                while !stop_flag.load(std::sync::atomic::Ordering::Relaxed) {
                    let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
                        continue;
                    };
                    match msg.view() {
                        gst::MessageView::Error(e) => {
                            let message = format!(
                                "{} ({})",
                                e.error(),
                                e.debug().map(|d| d.to_string()).unwrap_or_default()
                            );
                            let _ = errors.send(IngestEvent::Error { cam, message });
                            break;
                        }
                        gst::MessageView::Eos(_) => break,
                        _ => {}
                    }
                }
            })
            .expect("spawn bus thread");
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| CameraError::Start {
                cam,
                name: name.to_string(),
                description: description.clone(),
                reason: e.to_string(),
            })?;
        Ok(CameraPipeline {
            cam,
            pipeline,
            appsrc,
            bus_thread: Some(bus_thread),
            bus_stop,
        })
    }

    /// Stops the pipeline.
    pub fn stop(&mut self) {
        self.bus_stop
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(t) = self.bus_thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for CameraPipeline {
    fn drop(&mut self) {
        self.stop();
    }
}
