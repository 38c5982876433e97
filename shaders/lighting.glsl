// Simple directional light so slab sides read as solid boxes.
const vec3 LIGHT_DIR = vec3(0.35, 0.8, 0.5);

float lambert(vec3 normal) {
    return 0.38 + 0.62 * max(dot(normalize(normal), normalize(LIGHT_DIR)), 0.0);
}
