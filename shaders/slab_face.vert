#version 330 core
// The front face of one slab: a quad spanning the slab's x/y extent at its front z.
in vec2 a_corner;          // (0, 0) top-left .. (1, 1) bottom-right
uniform mat4 u_mvp;
uniform vec3 u_lo;         // slab box minimum corner
uniform vec3 u_size;       // slab box size
out vec2 v_face;           // world units from the face's top-left corner, y down

void main() {
    vec3 p = vec3(u_lo.x + a_corner.x * u_size.x,
                  u_lo.y + (1.0 - a_corner.y) * u_size.y,
                  u_lo.z + u_size.z);
    v_face = a_corner * u_size.xy;
    gl_Position = u_mvp * vec4(p, 1.0);
}
