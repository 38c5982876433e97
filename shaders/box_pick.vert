#version 330 core
in vec3 a_position;
in float a_layer;
uniform mat4 u_mvp;
flat out float v_layer;
out float v_z;

void main() {
    v_layer = a_layer;
    v_z = a_position.z;
    gl_Position = u_mvp * vec4(a_position, 1.0);
}
