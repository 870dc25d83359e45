// The 3D preview: three.js with its STL, PLY, OBJ, 3MF and glTF loaders and orbit controls. Drag to
// rotate, scroll to zoom; with the canvas focused, the arrow keys rotate and + and - zoom.

import * as THREE from "three";
import { STLLoader } from "three/addons/loaders/STLLoader.js";
import { PLYLoader } from "three/addons/loaders/PLYLoader.js";
import { OBJLoader } from "three/addons/loaders/OBJLoader.js";
import { ThreeMFLoader } from "three/addons/loaders/3MFLoader.js";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { mergeGeometries } from "three/addons/utils/BufferGeometryUtils.js";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";

export class Preview {
  constructor(canvas) {
    this.canvas = canvas;
    // preserveDrawingBuffer keeps the last frame readable (screenshots, tests).
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(0x20252b);
    this.camera = new THREE.PerspectiveCamera(40, 4 / 3, 0.1, 10000);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x445566, 1.2));
    const sun = new THREE.DirectionalLight(0xffffff, 2.2);
    sun.position.set(1, 2, 3);
    this.camera.add(sun);
    this.scene.add(this.camera);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.enableDamping = false;
    this.controls.addEventListener("change", () => this.render());
    canvas.addEventListener("keydown", (e) => this.key(e));
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.mesh = null;
  }

  /// Shows nothing: the mesh shown is taken away.
  clear() {
    if (!this.mesh) return;
    this.scene.remove(this.mesh);
    this.mesh.geometry.dispose();
    this.mesh.material.dispose();
    this.mesh = null;
    this.render();
  }

  /// Shows a mesh file in `format` (one of Lithos' formats, as the API names them) given as
  /// an ArrayBuffer, framed to fit.
  async show(buffer, format = "stl") {
    const geometry = await parse(buffer, format);
    // PLY, OBJ and GLB carry Lithos' smooth normals: keep them.
    if (!geometry.hasAttribute("normal")) geometry.computeVertexNormals();
    geometry.center();
    // Lithos' meshes are Z-up, as is 3MF; three.js is Y-up, as is glTF.
    if (format !== "glb") geometry.rotateX(-Math.PI / 2);
    geometry.computeBoundingSphere();
    this.clear();
    const material = new THREE.MeshStandardMaterial({ color: 0xd9dde2, roughness: 0.6, metalness: 0.05 });
    this.mesh = new THREE.Mesh(geometry, material);
    this.scene.add(this.mesh);
    const r = geometry.boundingSphere.radius || 1;
    this.camera.near = r / 100;
    this.camera.far = r * 100;
    this.camera.position.set(0, r * 1.8, r * 2.6);
    this.camera.updateProjectionMatrix();
    this.controls.target.set(0, 0, 0);
    this.controls.update();
    this.resize();
  }

  key(e) {
    const step = Math.PI / 24;
    const rotate = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[e.key];
    if (rotate && this.mesh) {
      e.preventDefault();
      this.mesh.rotation.y += rotate[0];
      this.mesh.rotation.x += rotate[1];
      this.render();
    } else if ((e.key === "+" || e.key === "-") && this.mesh) {
      e.preventDefault();
      this.camera.position.multiplyScalar(e.key === "+" ? 0.9 : 1.1);
      this.render();
    }
  }

  resize() {
    const { clientWidth: w, clientHeight: h } = this.canvas;
    if (!w || !h) return;
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.render();
  }

  render() {
    this.renderer.render(this.scene, this.camera);
  }
}

/// One BufferGeometry from a mesh file, its objects (3MF's parts) merged.
async function parse(buffer, format) {
  switch (format) {
    case "ply":
      return new PLYLoader().parse(buffer);
    case "obj":
      return merged(new OBJLoader().parse(new TextDecoder().decode(buffer)), "the OBJ file");
    case "3mf":
      return merged(new ThreeMFLoader().parse(buffer), "the 3MF file");
    case "glb": {
      const gltf = await new GLTFLoader().parseAsync(buffer, "");
      return merged(gltf.scene, "the GLB file");
    }
    default:
      return new STLLoader().parse(buffer);
  }
}

/// The meshes under `root` as one geometry in root's frame; the loaders' own materials and
/// geometries are disposed of.
function merged(root, what) {
  root.updateMatrixWorld(true);
  const parts = [];
  root.traverse((node) => {
    if (!node.isMesh) return;
    const geometry = node.geometry.index ? node.geometry.toNonIndexed() : node.geometry.clone();
    geometry.applyMatrix4(node.matrixWorld);
    for (const name of Object.keys(geometry.attributes)) {
      if (name !== "position" && name !== "normal") geometry.deleteAttribute(name);
    }
    parts.push(geometry);
    node.geometry.dispose();
    for (const material of [node.material].flat()) material.dispose();
  });
  if (!parts.length) throw new Error(`${what} has no faces`);
  if (parts.some((g) => !g.hasAttribute("normal"))) parts.forEach((g) => g.deleteAttribute("normal"));
  const geometry = parts.length === 1 ? parts[0] : mergeGeometries(parts);
  if (!geometry) throw new Error(`${what} could not be merged`);
  return geometry;
}
