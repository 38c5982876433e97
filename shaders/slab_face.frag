#version 330 core
// Feature maps as a grid of heatmap tiles. Channel c sits at row c / cols,
// column c % cols; its H x W map comes from slice c / pack of the 3D texture,
// at x offset (c % pack) * W when channels are packed side by side.
#include "colormap.glsl"

uniform sampler3D u_activation;
uniform sampler2D u_ranges;   // per-channel (lo, hi), 1024 channels per row
uniform sampler2D u_lut;
uniform int u_channels;
uniform int u_cols;
uniform int u_pack;
uniform int u_depth;
uniform vec2 u_tile;          // tile size in world units
uniform float u_gap;          // gap between tiles in world units
uniform vec3 u_base_color;    // slab colour between tiles
in vec2 v_face;
out vec4 frag_color;

void main() {
    vec2 cell = u_tile + vec2(u_gap);
    vec2 q = v_face - vec2(u_gap);
    vec2 index = floor(q / cell);
    vec2 f = q - index * cell;
    int col = int(index.x);
    int row = int(index.y);
    int c = row * u_cols + col;
    if (q.x < 0.0 || q.y < 0.0 || col >= u_cols || f.x > u_tile.x || f.y > u_tile.y || c >= u_channels) {
        frag_color = vec4(u_base_color, 1.0);
        return;
    }
    vec2 uv = f / u_tile;
    int slice = c / u_pack;
    int sub = c - slice * u_pack;
    vec3 tc = vec3((float(sub) + uv.x) / float(u_pack), uv.y, (float(slice) + 0.5) / float(u_depth));
    float value = texture(u_activation, tc).r;
    vec2 range = texelFetch(u_ranges, ivec2(c % 1024, c / 1024), 0).rg;
    vec3 rgb = colormap(u_lut, value, range);
    // A one-pixel dark outline keeps neighbouring tiles apart once the gap is
    // under a pixel. At grazing angles a pixel spans much of a tile, so the
    // outline is capped at a few percent of the tile, and dropped for tiny tiles.
    vec2 px = min(vec2(length(vec2(dFdx(v_face.x), dFdy(v_face.x))), length(vec2(dFdx(v_face.y), dFdy(v_face.y)))),
                  0.04 * u_tile);
    if (u_tile.x > 8.0 * px.x &&
        (f.x < px.x || f.y < px.y || u_tile.x - f.x < px.x || u_tile.y - f.y < px.y)) {
        rgb *= 0.5;
    }
    frag_color = vec4(rgb, 1.0);
}
