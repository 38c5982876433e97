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
uniform int u_filter_taps;    // most samples per pixel axis over its footprint (1: one sample, no prefilter)
in vec2 v_face;
out vec4 frag_color;

// The colour at a point of the face: its tile's heatmap, or the slab between tiles.
// `last`, `range` carry the last tile's channel and range between calls (one fetch fewer a sample).
vec3 shade(vec2 face, inout int last, inout vec2 range) {
    vec2 uv;
    int c = tile_at(face, uv);
    if (c < 0) {
        return u_base_color;
    }
    if (u_rgb == 0) {
        if (c != last) {
            range = range_of(c);
            last = c;
        }
        return colormap(u_lut, activation_at(c, uv), range);
    }
    // Each component normalized by the tile's range (the same for its three channels).
    vec3 rgb;
    vec2 r = range_of(3 * c);
    float span = r.y - r.x;
    for (int k = 0; k < 3; ++k) {
        float v = activation_at(3 * c + k, uv);
        if (isnan(v) || isinf(v)) {
            return NAN_COLOR;
        }
        rgb[k] = span > 0.0 ? clamp((v - r.x) / span, 0.0, 1.0) : 0.0;
    }
    return rgb;
}

void main() {
    // Prefiltering: where one pixel covers several texels (a far or oblique slab), one
    // sample would alias into moire. The pixel's footprint on the face is the
    // parallelogram spanned by the derivatives of v_face; average a grid of samples over
    // it, one per texel it crosses along each axis, at most u_filter_taps. The colours are
    // averaged after the colormap, as a supersampled render averages them. The textures'
    // channels are their depth, so GL mipmaps (which halve depth too) would blend channels.
    vec2 dx = dFdx(v_face);
    vec2 dy = dFdy(v_face);
    ivec3 size = textureSize(u_activation, 0);
    vec2 texel = u_tile / vec2(float(size.x / u_pack), float(size.y));  // one texel in world units
    int nx = clamp(int(ceil(length(dx / texel))), 1, u_filter_taps);
    int ny = clamp(int(ceil(length(dy / texel))), 1, u_filter_taps);
    vec3 rgb = vec3(0.0);
    int last = -1;
    vec2 range = vec2(0.0);
    for (int i = 0; i < nx; ++i) {
        for (int j = 0; j < ny; ++j) {
            vec2 at = v_face + ((float(i) + 0.5) / float(nx) - 0.5) * dx + ((float(j) + 0.5) / float(ny) - 0.5) * dy;
            rgb += shade(at, last, range);
        }
    }
    rgb /= float(nx * ny);
    vec2 uv;
    if (tile_at(v_face, uv) < 0) {
        frag_color = vec4(rgb, 1.0);
        return;
    }
    // A one-pixel dark outline keeps neighbouring tiles apart once the gap is
    // under a pixel. At grazing angles a pixel spans much of a tile, so the
    // outline is capped at a few percent of the tile, and dropped for tiny tiles.
    vec2 f = uv * u_tile;
    vec2 px = min(vec2(length(vec2(dx.x, dy.x)), length(vec2(dx.y, dy.y))), 0.04 * u_tile);
    if (u_tile.x > 8.0 * px.x &&
        (f.x < px.x || f.y < px.y || u_tile.x - f.x < px.x || u_tile.y - f.y < px.y)) {
        rgb *= 0.5;
    }
    frag_color = vec4(rgb, 1.0);
}
