#version 330 core
// The answer panel: one textured quad in world space.
in vec3 a_position;
in vec2 a_uv;                 // v = 0 at the top of the panel picture
uniform mat4 u_mvp;
out vec2 v_uv;

void main() {
    v_uv = a_uv;
    gl_Position = u_mvp * vec4(a_position, 1.0);
}
