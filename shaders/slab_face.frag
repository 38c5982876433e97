#version 330 core
// Feature maps as a grid of heatmap tiles on a slab's front face.
// With SLAB_TABLE defined (the face pass), each slab's grid arrives from the
// vertex shader, read from one table of every slab, instead of as uniforms.
#ifdef SLAB_TABLE
in SlabGrid {  // a block: gloo's parser would take plain "in" declarations for attributes
    flat int u_channels;
    flat int u_cols;
    flat vec2 u_tile;
    flat float u_gap;
    flat int u_pack;
    flat int u_depth;
    flat int u_rgb;
};
#else
uniform int u_rgb;            // 1: tile c is a colour image from channels 3c, 3c+1, 3c+2
#endif
#include "colormap.glsl"
#include "tiles.glsl"
#include "activation.glsl"

uniform sampler2D u_lut;
uniform vec3 u_base_color;    // slab colour between tiles
in vec2 v_face;
out vec4 frag_color;

void main() {
    vec2 uv;
    int c = tile_at(v_face, uv);
    if (c < 0) {
        frag_color = vec4(u_base_color, 1.0);
        return;
    }
    vec3 rgb;
    if (u_rgb == 1) {
        // Each component normalized by the tile's range (the same for its three channels).
        vec2 range = range_of(3 * c);
        float span = range.y - range.x;
        for (int k = 0; k < 3; ++k) {
            float v = activation_at(3 * c + k, uv);
            if (isnan(v) || isinf(v)) {
                rgb = NAN_COLOR;
                break;
            }
            rgb[k] = span > 0.0 ? clamp((v - range.x) / span, 0.0, 1.0) : 0.0;
        }
    } else {
        rgb = colormap(u_lut, activation_at(c, uv), range_of(c));
    }
    // A one-pixel dark outline keeps neighbouring tiles apart once the gap is
    // under a pixel. At grazing angles a pixel spans much of a tile, so the
    // outline is capped at a few percent of the tile, and dropped for tiny tiles.
    vec2 f = uv * u_tile;
    vec2 px = min(vec2(length(vec2(dFdx(v_face.x), dFdy(v_face.x))), length(vec2(dFdx(v_face.y), dFdy(v_face.y)))),
                  0.04 * u_tile);
    if (u_tile.x > 8.0 * px.x &&
        (f.x < px.x || f.y < px.y || u_tile.x - f.x < px.x || u_tile.y - f.y < px.y)) {
        rgb *= 0.5;
    }
    frag_color = vec4(rgb, 1.0);
}
