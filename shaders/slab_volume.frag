#version 330 core
// Volume mode: the C x H x W activation as a translucent block, channel 0 at
// the front face, ray-marched front to back. Opacity follows the normalized
// value, so strong responses stand out and weak ones fade.
#include "colormap.glsl"
#include "activation.glsl"

uniform sampler2D u_lut;
uniform int u_channels;
uniform vec3 u_lo;
uniform vec3 u_size;
uniform vec3 u_eye;
uniform float u_density;   // opacity per unit length at full value
in vec3 v_world;
out vec4 frag_color;

const int MAX_STEPS = 96;

void main() {
    vec3 dir = normalize(v_world - u_eye);
    // Exit point of the ray through the box (slab method).
    vec3 inv = 1.0 / dir;
    vec3 t0 = (u_lo - v_world) * inv;
    vec3 t1 = (u_lo + u_size - v_world) * inv;
    vec3 tfar = max(t0, t1);
    float t_exit = max(min(min(tfar.x, tfar.y), tfar.z), 0.0);
    int steps = clamp(int(t_exit / (0.5 * min(min(u_size.x, u_size.y), u_size.z / max(float(u_channels), 1.0) * 4.0)) + 1.0), 8, MAX_STEPS);
    float dt = t_exit / float(steps);
    vec4 acc = vec4(0.0);
    for (int i = 0; i < MAX_STEPS; ++i) {
        if (i >= steps || acc.a > 0.97) break;
        vec3 p = v_world + dir * (float(i) + 0.5) * dt;
        vec3 q = clamp((p - u_lo) / u_size, 0.0, 0.9999);
        int c = int((1.0 - q.z) * float(u_channels));
        vec2 uv = vec2(q.x, 1.0 - q.y);
        float value = activation_at(c, uv);
        vec2 range = range_of(c);
        float span = range.y - range.x;
        float t = (isnan(value) || isinf(value)) ? 1.0 : (span > 0.0 ? clamp((value - range.x) / span, 0.0, 1.0) : 0.0);
        vec3 rgb = colormap(u_lut, value, range);
        float a = 1.0 - exp(-u_density * t * t * dt);
        acc.rgb += (1.0 - acc.a) * a * rgb;
        acc.a += (1.0 - acc.a) * a;
    }
    frag_color = acc;  // premultiplied
}
