#version 330 core
#include "cut.glsl"
in vec4 v_color;
in float v_z;
out vec4 frag_color;

void main() {
    if (v_z > u_cut_z) discard;
    frag_color = v_color;
}
