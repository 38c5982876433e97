// Value -> colour, exactly as viz3d.scene.colormaps.apply_colormap (and matplotlib) does it.
const vec3 NAN_COLOR = vec3(1.0, 0.0, 1.0);  // magenta: in none of the colormaps

vec3 colormap(sampler2D lut, float value, vec2 range) {
    if (isnan(value) || isinf(value)) {
        return NAN_COLOR;
    }
    float span = range.y - range.x;
    float t = span > 0.0 ? (value - range.x) / span : 0.0;
    int index = int(clamp(floor(t * 256.0), 0.0, 255.0));
    return texelFetch(lut, ivec2(index, 0), 0).rgb;
}
