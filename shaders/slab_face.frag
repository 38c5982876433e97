#version 330 core
// Feature maps as a grid of heatmap tiles on a slab's front face.
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
    vec3 rgb = colormap(u_lut, activation_at(c, uv), range_of(c));
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
