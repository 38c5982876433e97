#version 330 core
// Picking for slab sides and generic boxes: the layer only.
flat in float v_layer;
out vec4 frag_id;

void main() {
    frag_id = vec4(v_layer + 1.0, -1.0, -1.0, -1.0);
}
