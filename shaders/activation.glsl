// Reading one activation value from a layer's 3D texture. Channels are the
// texture's depth; beyond the depth limit `pack` channels sit side by side in x.
uniform sampler3D u_activation;
uniform sampler2D u_ranges;   // per-channel (lo, hi), 1024 channels per row
#ifndef SLAB_TABLE      // else flat inputs of the same names (slab_face_table.vert)
uniform int u_pack;
uniform int u_depth;
#endif

float activation_at(int c, vec2 uv) {
    int slice = c / u_pack;
    int sub = c - slice * u_pack;
    vec3 tc = vec3((float(sub) + uv.x) / float(u_pack), uv.y, (float(slice) + 0.5) / float(u_depth));
    return texture(u_activation, tc).r;
}

vec2 range_of(int c) {
    return texelFetch(u_ranges, ivec2(c % 1024, c / 1024), 0).rg;
}
