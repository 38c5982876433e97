#version 330 core
// Screen-aligned text: the anchor is projected, the glyph quad is offset in pixels.
in vec3 a_anchor;
in vec2 a_offset;          // pixels, y up
in vec2 a_uv;
uniform mat4 u_mvp;
uniform vec2 u_viewport;   // pixels
out vec2 v_uv;

void main() {
    vec4 clip = u_mvp * vec4(a_anchor, 1.0);
    clip.xy += a_offset * 2.0 / u_viewport * clip.w;
    v_uv = a_uv;
    gl_Position = clip;
}
