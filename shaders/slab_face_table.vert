#version 330 core
// The front face of slab u_slab, its box and tile grid read from the slab table:
// per slab one row of four RGBA32F texels (see viz3d/renderer/face_pass.py),
// 1024 slabs per texture row, so a face costs one integer uniform, not nine.
in vec2 a_corner;          // (0, 0) top-left .. (1, 1) bottom-right
uniform mat4 u_mvp;
uniform sampler2D u_slabs;
uniform int u_slab;
out vec2 v_face;           // world units from the face's top-left corner, y down
out SlabGrid {              // the slab's tile grid, for slab_face.frag (built with SLAB_TABLE)
    flat int u_channels;
    flat int u_cols;
    flat vec2 u_tile;
    flat float u_gap;
    flat int u_pack;
    flat int u_depth;
    flat int u_rgb;
};

vec4 slab_texel(int k) {
    return texelFetch(u_slabs, ivec2((u_slab % 1024) * 4 + k, u_slab / 1024), 0);
}

void main() {
    vec4 t0 = slab_texel(0);   // lo.xyz, channels
    vec4 t1 = slab_texel(1);   // size.xyz, cols
    vec4 t2 = slab_texel(2);   // tile.xy, gap, pack
    vec4 t3 = slab_texel(3);   // depth, rgb
    vec3 lo = t0.xyz;
    vec3 size = t1.xyz;
    vec3 p = vec3(lo.x + a_corner.x * size.x, lo.y + (1.0 - a_corner.y) * size.y, lo.z + size.z);
    v_face = a_corner * size.xy;
    u_channels = int(t0.w);
    u_cols = int(t1.w);
    u_tile = t2.xy;
    u_gap = t2.z;
    u_pack = int(t2.w);
    u_depth = int(t3.x);
    u_rgb = int(t3.y);
    gl_Position = u_mvp * vec4(p, 1.0);
}
