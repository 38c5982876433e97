#version 330 core
// A layer's box for ray marching: positions in world space.
in vec3 a_corner;        // unit cube corner, 0..1
uniform mat4 u_mvp;
uniform vec3 u_lo;
uniform vec3 u_size;
out vec3 v_world;

void main() {
    v_world = u_lo + a_corner * u_size;
    gl_Position = u_mvp * vec4(v_world, 1.0);
}
