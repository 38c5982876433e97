// Where a point on a slab's front face falls in its grid of tiles.
// Channel c sits at row c / cols, column c % cols, row 0 at the top.
#ifndef SLAB_TABLE      // else flat inputs of the same names, read from the slab table (slab_face_table.vert)
uniform int u_channels;
uniform int u_cols;
uniform vec2 u_tile;     // tile size in world units
uniform float u_gap;     // gap between tiles in world units
#endif

// The channel under `face` (world units from the face's top-left, y down), or
// -1 in a gap; `uv` is the position inside the tile, (0, 0) at its top-left.
int tile_at(vec2 face, out vec2 uv) {
    vec2 cell = u_tile + vec2(u_gap);
    vec2 q = face - vec2(u_gap);
    vec2 index = floor(q / cell);
    vec2 f = q - index * cell;
    int col = int(index.x);
    int row = int(index.y);
    int c = row * u_cols + col;
    uv = f / u_tile;
    if (q.x < 0.0 || q.y < 0.0 || col >= u_cols || f.x > u_tile.x || f.y > u_tile.y || c >= u_channels) {
        return -1;
    }
    return c;
}
