#version 330 core
// Picking on the answer panel: a bar row writes the classifier unit of its class,
// (layer + 1, 0, y, x); the rest of the panel writes the layer with no unit.
const int MAX_ROWS = 8;
uniform float u_layer;
uniform int u_rows;
uniform vec4 u_row[8];        // (v0, v1, y, x) of each bar row; MAX_ROWS (gloo reads array sizes only as numbers)
in vec2 v_uv;
out vec4 frag_id;

void main() {
    frag_id = vec4(u_layer + 1.0, -1.0, -1.0, -1.0);
    for (int i = 0; i < MAX_ROWS; ++i) {
        if (i < u_rows && v_uv.y >= u_row[i].x && v_uv.y < u_row[i].y) {
            frag_id = vec4(u_layer + 1.0, 0.0, u_row[i].z, u_row[i].w);
        }
    }
}
