// The 3D preview: three.js with its STL, PLY and OBJ loaders and orbit controls. Drag to
// rotate, scroll to zoom; with the canvas focused, the arrow keys rotate and + and - zoom.

import * as THREE from "three";
import { STLLoader } from "three/addons/loaders/STLLoader.js";
import { PLYLoader } from "three/addons/loaders/PLYLoader.js";
import { OBJLoader } from "three/addons/loaders/OBJLoader.js";
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

  /// Shows a mesh file in `format` (Lithos' `stl`, `stl-ascii`, `ply` or `obj`) given as an
  /// ArrayBuffer, framed to fit.
  show(buffer, format = "stl") {
    const geometry = parse(buffer, format);
    // PLY and OBJ carry Lithos' smooth normals (from the field's gradient): keep them.
    if (!geometry.hasAttribute("normal")) geometry.computeVertexNormals();
    geometry.center();
    // Lithos' meshes are Z-up; three.js is Y-up.
    geometry.rotateX(-Math.PI / 2);
    geometry.computeBoundingSphere();
    if (this.mesh) {
      this.scene.remove(this.mesh);
      this.mesh.geometry.dispose();
      this.mesh.material.dispose();
    }
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

/// One BufferGeometry from a mesh file: Lithos writes a single object per file.
function parse(buffer, format) {
  switch (format) {
    case "ply":
      return new PLYLoader().parse(buffer);
    case "obj": {
      let geometry = null;
      new OBJLoader().parse(new TextDecoder().decode(buffer)).traverse((node) => {
        if (!node.isMesh) return;
        if (!geometry) geometry = node.geometry;
        else node.geometry.dispose();
        // The loader's own materials are replaced by the preview's.
        for (const material of [node.material].flat()) material.dispose();
      });
      if (!geometry) throw new Error("the OBJ file has no faces");
      return geometry;
    }
    default:
      return new STLLoader().parse(buffer);
  }
}
