#version 330 core
// Picking for slab sides and generic boxes: the layer only.
#include "cut.glsl"
flat in float v_layer;
in float v_z;
out vec4 frag_id;

void main() {
    if (v_z > u_cut_z) discard;
    frag_id = vec4(v_layer + 1.0, -1.0, -1.0, -1.0);
}
