//! Indexed-mesh writers: STL (binary and ASCII), PLY and OBJ read back to the same mesh.

use lithos_engine::export::{face_normal, write_indexed};
use lithos_engine::{IndexedMesh, IsoOptions, MeshFormat, Silent};

use crate::helpers::cpu;
use crate::isosurface::Analytic;

pub(crate) fn ball() -> IndexedMesh {
    let field = Analytic {
        n: 20,
        lo: -1.0,
        hi: 1.0,
        f: |p| 0.8 - p.iter().map(|c| c * c).sum::<f64>().sqrt(),
    };
    cpu().isosurface(&field, &IsoOptions::new(0.0), &Silent).unwrap()
}

fn written(mesh: &IndexedMesh, format: MeshFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    let stats = write_indexed(mesh, format, &mut bytes).unwrap();
    assert_eq!(stats.bytes, bytes.len() as u64, "{format:?}: byte count");
    assert_eq!(stats.triangles, mesh.triangle_count());
    bytes
}

#[test]
fn ply_keeps_every_vertex_normal_and_face() {
    let mesh = ball();
    let bytes = written(&mesh, MeshFormat::Ply);
    let end = b"end_header\n";
    let at = bytes.windows(end.len()).position(|w| w == end).unwrap() + end.len();
    let header = std::str::from_utf8(&bytes[..at]).unwrap();
    assert!(header.starts_with("ply\nformat binary_little_endian 1.0\n"));
    assert!(header.contains(&format!("element vertex {}\n", mesh.positions.len())));
    assert!(header.contains(&format!("element face {}\n", mesh.triangles.len())));
    let body = &bytes[at..];
    let f = |i: usize| f32::from_le_bytes(body[i..i + 4].try_into().unwrap());
    for (v, (p, n)) in mesh.positions.iter().zip(&mesh.normals).enumerate() {
        let at = v * 24;
        assert_eq!([f(at), f(at + 4), f(at + 8)], *p);
        assert_eq!([f(at + 12), f(at + 16), f(at + 20)], *n);
    }
    let faces = &body[mesh.positions.len() * 24..];
    assert_eq!(faces.len(), mesh.triangles.len() * 13, "nothing after the faces");
    for (t, face) in mesh.triangles.iter().zip(faces.chunks_exact(13)) {
        assert_eq!(face[0], 3);
        let index = |k: usize| u32::from_le_bytes(face[1 + 4 * k..5 + 4 * k].try_into().unwrap());
        assert_eq!([index(0), index(1), index(2)], *t);
    }
}

#[test]
fn obj_keeps_every_vertex_normal_and_face() {
    let mesh = ball();
    let text = String::from_utf8(written(&mesh, MeshFormat::Obj)).unwrap();
    let (mut v, mut vn, mut f) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        match parts.next() {
            Some("v") => v.push(parts.map(|x| x.parse::<f32>().unwrap()).collect::<Vec<_>>()),
            Some("vn") => vn.push(parts.map(|x| x.parse::<f32>().unwrap()).collect::<Vec<_>>()),
            Some("f") => f.push(
                parts
                    .map(|c| {
                        let (a, b) = c.split_once("//").unwrap();
                        assert_eq!(a, b, "each vertex uses its own normal");
                        a.parse::<u32>().unwrap() - 1
                    })
                    .collect::<Vec<_>>(),
            ),
            _ => {}
        }
    }
    let positions: Vec<Vec<f32>> = mesh.positions.iter().map(|p| p.to_vec()).collect();
    let normals: Vec<Vec<f32>> = mesh.normals.iter().map(|p| p.to_vec()).collect();
    let faces: Vec<Vec<u32>> = mesh.triangles.iter().map(|p| p.to_vec()).collect();
    assert_eq!(v, positions, "shortest round-trip text keeps every bit");
    assert_eq!(vn, normals);
    assert_eq!(f, faces);
}

#[test]
fn stl_binary_and_ascii_hold_the_same_welded_mesh() {
    let mesh = ball();
    for format in [MeshFormat::Stl, MeshFormat::StlAscii] {
        let bytes = written(&mesh, format);
        let read = stl_io::read_stl(&mut std::io::Cursor::new(&bytes)).unwrap();
        assert_eq!(read.faces.len(), mesh.triangles.len(), "{format:?}");
        // stl_io welds identical coordinates: the same vertex count means nothing moved.
        assert_eq!(read.vertices.len(), mesh.positions.len(), "{format:?}");
        for (face, &t) in read.faces.iter().zip(&mesh.triangles) {
            let expected = face_normal(&mesh, t);
            let n = [face.normal[0], face.normal[1], face.normal[2]];
            assert!((0..3).all(|k| (n[k] - expected[k]).abs() < 1e-6), "{format:?}");
            for (k, &v) in t.iter().enumerate() {
                let p = read.vertices[face.vertices[k]];
                assert_eq!([p[0], p[1], p[2]], mesh.positions[v as usize], "{format:?}");
            }
        }
    }
}
