#version 330 core
// Anti-aliased edges: coverage falls off over the last pixel of the width.
#include "cut.glsl"
in vec4 v_color;
in float v_across;
in float v_half;
in float v_z;
out vec4 frag_color;

void main() {
    if (v_z > u_cut_z) discard;
    float coverage = clamp(v_half + 0.5 - abs(v_across), 0.0, 1.0);
    if (coverage <= 0.0) discard;
    frag_color = vec4(v_color.rgb, v_color.a * coverage);
}
