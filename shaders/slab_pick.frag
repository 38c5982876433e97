#version 330 core
// Picking: writes (layer + 1, channel, y, x) of the feature-map pixel under
// each fragment into a float framebuffer; gaps give channel -1.
#include "tiles.glsl"

uniform float u_layer;
uniform vec2 u_map_size;      // (H, W) of the original feature map
in vec2 v_face;
out vec4 frag_id;

void main() {
    vec2 uv;
    int c = tile_at(v_face, uv);
    if (c < 0) {
        frag_id = vec4(u_layer + 1.0, -1.0, -1.0, -1.0);
        return;
    }
    vec2 yx = min(floor(uv.yx * u_map_size), u_map_size - 1.0);
    frag_id = vec4(u_layer + 1.0, float(c), yx);
}
