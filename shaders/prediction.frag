#version 330 core
// The panel picture, opaque; its transparent rounded corners are left out.
uniform sampler2D u_image;
in vec2 v_uv;
out vec4 frag_color;

void main() {
    vec4 texel = texture(u_image, v_uv);
    if (texel.a < 0.5) {
        discard;
    }
    frag_color = vec4(texel.rgb, 1.0);
}
