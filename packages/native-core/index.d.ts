/** The include folder (holding `evloop/*.h`), relative to the working directory, as node-addon-api's `include_dir`. */
export declare const include_dir: string;
/** The include folder (holding `evloop/*.h`), as an absolute path. */
export declare const include_path: string;
declare const _default: { include_dir: string; include_path: string };
export default _default;
