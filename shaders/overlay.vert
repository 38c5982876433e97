#version 330 core
// Screen-space panels (HUD, help, inset): pixel rectangles, y down.
in vec2 a_pixel;
in vec2 a_uv;
uniform vec2 u_viewport;
out vec2 v_uv;

void main() {
    v_uv = a_uv;
    gl_Position = vec4(a_pixel.x / u_viewport.x * 2.0 - 1.0, 1.0 - a_pixel.y / u_viewport.y * 2.0, 0.0, 1.0);
}
