//! The thumbnail's render pass on the device: the one use of the GPU that is not a compute
//! kernel (see [`crate::thumbnail`], whose `raster` is its CPU twin).

use wgpu::util::DeviceExt;

use super::{DeviceBuffer, Gpu};
use crate::error::Result;
use crate::thumbnail::{Shaded, THUMBNAIL_SHADER, ThumbnailConfig};

impl Gpu {
    /// Draws `triangles` with the thumbnail render pass (`shaders/thumbnail.wgsl`) into
    /// `side` x `side` RGBA pixels on a transparent background, and reads them back.
    pub fn render_thumbnail(
        &self,
        config: &ThumbnailConfig,
        triangles: &[Shaded],
        side: u32,
    ) -> Result<Vec<u8>> {
        let device = &self.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("thumbnail"),
            source: wgpu::ShaderSource::Wgsl(THUMBNAIL_SHADER.into()),
        });
        const COLOUR: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
        const DEPTH: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("thumbnail"),
            layout: None,
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vertex_main"),
                compilation_options: Default::default(),
                buffers: &[Some(wgpu::VertexBufferLayout {
                    array_stride: 24,
                    step_mode: wgpu::VertexStepMode::Vertex,
                    attributes: &wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3],
                })],
            },
            // The meshes are closed: faces turned away are hidden anyway.
            primitive: wgpu::PrimitiveState {
                front_face: wgpu::FrontFace::Ccw,
                cull_mode: Some(wgpu::Face::Back),
                ..Default::default()
            },
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH,
                depth_write_enabled: Some(true),
                depth_compare: Some(wgpu::CompareFunction::Less),
                stencil: Default::default(),
                bias: Default::default(),
            }),
            multisample: Default::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fragment_main"),
                compilation_options: Default::default(),
                targets: &[Some(COLOUR.into())],
            }),
            multiview_mask: None,
            cache: None,
        });
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("thumbnail config"),
            contents: bytemuck::bytes_of(config),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("thumbnail"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }],
        });
        let size = wgpu::Extent3d { width: side, height: side, depth_or_array_layers: 1 };
        let texture = |format, usage| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some("thumbnail"),
                size,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        let colour =
            texture(COLOUR, wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC);
        let depth = texture(DEPTH, wgpu::TextureUsages::RENDER_ATTACHMENT);
        let (colour_view, depth_view) =
            (colour.create_view(&Default::default()), depth.create_view(&Default::default()));
        // Vertices in batches that fit one buffer: position and face normal per corner.
        let per_batch = (self.device.limits().max_buffer_size / 72).clamp(1, 1 << 22) as usize;
        let mut first = true;
        for batch in triangles.chunks(per_batch) {
            let mut vertices = Vec::with_capacity(batch.len() * 18);
            for t in batch {
                for corner in t.corners {
                    vertices.extend_from_slice(&corner);
                    vertices.extend_from_slice(&t.normal);
                }
            }
            let buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("thumbnail vertices"),
                contents: bytemuck::cast_slice(&vertices),
                usage: wgpu::BufferUsages::VERTEX,
            });
            let (load, depth_load) = if first {
                (wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT), wgpu::LoadOp::Clear(1.0))
            } else {
                (wgpu::LoadOp::Load, wgpu::LoadOp::Load)
            };
            first = false;
            let mut encoder = device.create_command_encoder(&Default::default());
            let claim = self.claim("thumbnail")?;
            {
                let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                    label: Some("thumbnail"),
                    color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                        view: &colour_view,
                        depth_slice: None,
                        resolve_target: None,
                        ops: wgpu::Operations { load, store: wgpu::StoreOp::Store },
                    })],
                    depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                        view: &depth_view,
                        depth_ops: Some(wgpu::Operations {
                            load: depth_load,
                            store: wgpu::StoreOp::Store,
                        }),
                        stencil_ops: None,
                    }),
                    timestamp_writes: claim.as_ref().map(|c| c.render()),
                    occlusion_query_set: None,
                    multiview_mask: None,
                });
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &bind_group, &[]);
                pass.set_vertex_buffer(0, buffer.slice(..));
                pass.draw(0..(batch.len() * 3) as u32, 0..1);
            }
            self.queue.submit([encoder.finish()]);
            drop(claim);
        }
        // Rows of 4 * side bytes: a multiple of 256 for the sides used (512).
        let row = 4 * side;
        let readback = DeviceBuffer {
            buffer: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("thumbnail pixels"),
                size: u64::from(row) * u64::from(side),
                usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
        };
        let mut encoder = device.create_command_encoder(&Default::default());
        encoder.copy_texture_to_buffer(
            colour.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &readback.buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(row.next_multiple_of(256)),
                    rows_per_image: Some(side),
                },
            },
            size,
        );
        self.queue.submit([encoder.finish()]);
        self.check_errors()?;
        self.download(&readback, 0, u64::from(row) * u64::from(side))
    }
}
