#version 330 core
// Instanced connections: each instance is a quadratic Bézier curve (a line
// when its control point is the midpoint), tessellated here into a strip of
// `u_segments` quads whose width is constant in screen pixels.
in float a_t;        // per vertex: 0..1 along the curve
in float a_side;     // per vertex: -1 or +1 across it
in vec3 a_p0;        // per instance
in vec3 a_p1;
in vec3 a_ctrl;
in vec4 a_color;
in float a_width;    // pixels
uniform mat4 u_mvp;
uniform vec2 u_viewport;
uniform float u_pixel_scale;
out vec4 v_color;
out float v_across;  // signed distance from the centre line, pixels
out float v_half;    // half the line width, pixels
out float v_z;

vec3 bezier(float t) {
    float s = 1.0 - t;
    return s * s * a_p0 + 2.0 * s * t * a_ctrl + t * t * a_p1;
}

vec2 to_screen(vec4 clip) {
    return clip.xy / max(clip.w, 1e-6) * 0.5 * u_viewport;
}

void main() {
    vec3 p = bezier(a_t);
    float ahead = a_t < 0.999 ? 1.0 : -1.0;
    vec3 q = bezier(clamp(a_t + ahead * 0.01, 0.0, 1.0));
    vec4 cp = u_mvp * vec4(p, 1.0);
    vec4 cq = u_mvp * vec4(q, 1.0);
    vec2 d = (to_screen(cq) - to_screen(cp)) * ahead;
    vec2 dir = length(d) > 1e-6 ? normalize(d) : vec2(1.0, 0.0);
    vec2 normal = vec2(-dir.y, dir.x);
    v_half = 0.5 * a_width * u_pixel_scale;
    float extent = v_half + 1.0;   // one more pixel for the anti-aliasing ramp
    cp.xy += normal * a_side * extent / (0.5 * u_viewport) * cp.w;
    v_across = a_side * extent;
    v_color = a_color;
    v_z = p.z;
    gl_Position = cp;
}
