#version 330 core
in vec3 a_position;
in vec4 a_color;
uniform mat4 u_mvp;
out vec4 v_color;
out float v_z;

void main() {
    v_color = a_color;
    v_z = a_position.z;
    gl_Position = u_mvp * vec4(a_position, 1.0);
}
