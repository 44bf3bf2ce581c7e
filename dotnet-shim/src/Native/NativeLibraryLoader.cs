using System;
using System.ComponentModel;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;

namespace MailAccessForensics.Native
{
    /// <summary>
    /// Finds maf_native in the module's own folder (runtimes/&lt;rid&gt;/native/), whatever the
    /// current directory, and checks that it speaks the ABI this assembly was built against.
    /// </summary>
    internal static class NativeLibraryLoader
    {
        /// <summary>Full path of a native library to use instead of the bundled one.</summary>
        internal const string OverrideVariable = "MAILACCESSFORENSICS_NATIVE_LIBRARY";

        private static readonly object Gate = new object();
        private static bool _loaded;
        private static string? _resolvedPath;

        /// <summary>
        /// Loads the library once per process and verifies its ABI version. Throws
        /// <see cref="InvalidOperationException"/> with a message for the user when the library is
        /// missing, unloadable or from another build.
        /// </summary>
        internal static void EnsureLoaded()
        {
            lock (Gate)
            {
                if (_loaded)
                {
                    return;
                }
                NativePlatform platform = NativePlatform.Current;
                string? fromEnvironment = Environment.GetEnvironmentVariable(OverrideVariable);
                string resolved = ResolvePath(platform, fromEnvironment, AssemblyDirectory);
                _resolvedPath = resolved;
                if (!File.Exists(resolved))
                {
                    throw new InvalidOperationException(MissingLibraryMessage(platform, resolved, fromEnvironment, AssemblyDirectory));
                }
                Register(platform);
                uint version;
                try
                {
                    version = NativeMethods.maf_abi_version();
                }
                catch (Exception e) when (e is DllNotFoundException || e is BadImageFormatException || e is EntryPointNotFoundException)
                {
                    throw new InvalidOperationException(
                        $"MailAccessForensics cannot load its native library '{_resolvedPath}' on this platform ({platform}): {e.Message}", e);
                }
                if (version != NativeMethods.MAF_ABI_VERSION)
                {
                    throw new InvalidOperationException(
                        $"MailAccessForensics' native library '{_resolvedPath}' speaks ABI version {version}, " +
                        $"but this module needs version {NativeMethods.MAF_ABI_VERSION}: the module folder mixes files " +
                        "from two builds. Reinstall the module, or rebuild it with ./build.ps1 Build.");
                }
                _loaded = true;
            }
        }

        /// <summary>The library EnsureLoaded chose; null before its first call.</summary>
        internal static string? ResolvedPath => _resolvedPath;

        /// <summary>The folder of this assembly: &lt;module&gt;/bin/&lt;framework&gt;/.</summary>
        internal static string AssemblyDirectory => Path.GetDirectoryName(typeof(NativeLibraryLoader).Assembly.Location) ?? AppContext.BaseDirectory;

        /// <summary>
        /// The library a process on <paramref name="platform"/> loads: <paramref name="overridePath"/>
        /// (made absolute) when set, else runtimes/&lt;rid&gt;/native/&lt;file&gt; of the module
        /// folder two levels above <paramref name="assemblyDirectory"/>.
        /// </summary>
        internal static string ResolvePath(NativePlatform platform, string? overridePath, string assemblyDirectory)
        {
            if (!string.IsNullOrEmpty(overridePath))
            {
                return Path.GetFullPath(overridePath);
            }
            return Path.Combine(ModuleRoot(assemblyDirectory), platform.RelativePath);
        }

        internal static string ModuleRoot(string assemblyDirectory) => Path.GetFullPath(Path.Combine(assemblyDirectory, "..", ".."));

        /// <summary>What to tell the user when <paramref name="path"/> does not exist: which platforms the folder does have.</summary>
        internal static string MissingLibraryMessage(NativePlatform platform, string path, string? overridePath, string assemblyDirectory)
        {
            string start = $"MailAccessForensics cannot find its native library at '{path}'. ";
            if (!string.IsNullOrEmpty(overridePath))
            {
                return start + $"{OverrideVariable} names it: set the variable to the full path of a built library, or remove it to use the module's own.";
            }
            string runtimes = Path.Combine(ModuleRoot(assemblyDirectory), "runtimes");
            string[] present = Directory.Exists(runtimes)
                ? Directory.GetDirectories(runtimes).Select(folder => Path.GetFileName(folder)).OrderBy(name => name, StringComparer.Ordinal).ToArray()
                : new string[0];
            if (present.Contains(platform.RuntimeIdentifier, StringComparer.Ordinal))
            {
                return start + $"The module folder is incomplete for this platform ({platform}): runtimes/{platform.RuntimeIdentifier} has no {platform.LibraryFileName}. " +
                    $"Reinstall the module, or build it with ./build.ps1 Build. To use another copy, set {OverrideVariable} to its full path.";
            }
            string has = present.Length == 0 ? "it has no native library at all" : "it has native libraries for " + string.Join(", ", present) + " only";
            return start + $"This installation of the module does not support this platform ({platform}): {has}. " +
                "Install the module from the PowerShell Gallery (its package carries every supported platform), " +
                $"or build it on this machine with ./build.ps1 Build. To use another copy, set {OverrideVariable} to its full path.";
        }

#if NETFRAMEWORK
        // Windows PowerShell 5.1 (.NET Framework has no resolver): load the library once by full
        // path before the first P/Invoke; later [DllImport]s find the loaded module by its file
        // name. SetDllDirectory would be process-wide and disturb other modules.
        // LOAD_WITH_ALTERED_SEARCH_PATH: the library's own dependencies are looked for beside it
        // (with +crt-static there are none but Windows' own).
        private const uint LoadWithAlteredSearchPath = 0x00000008;
        private const int ErrorBadExeFormat = 193;

        /// <summary>The name [DllImport("maf_native")] looks up among the loaded modules.</summary>
        private const string DllImportFileName = "maf_native.dll";

        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr LoadLibraryExW(string fileName, IntPtr reserved, uint flags);

        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr GetModuleHandleW(string moduleName);

        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern uint GetModuleFileNameW(IntPtr module, [Out] char[] fileName, uint size);

        private static void Register(NativePlatform platform)
        {
            string path = _resolvedPath ?? throw new InvalidOperationException("The native library is registered before its path is resolved.");
            IntPtr loaded = LoadLibraryExW(path, IntPtr.Zero, LoadWithAlteredSearchPath);
            if (loaded == IntPtr.Zero)
            {
                int error = Marshal.GetLastWin32Error();
                string why = error == ErrorBadExeFormat
                    ? $"it is built for another processor architecture than this {platform} process"
                    : new Win32Exception(error).Message;
                throw new InvalidOperationException(
                    $"MailAccessForensics cannot load its native library '{path}' (Win32 error {error}): {why}");
            }
            // [DllImport] binds by file name to the first loaded module of that name: it must be
            // the one just loaded, or every call would go to another library.
            IntPtr bound = GetModuleHandleW(DllImportFileName);
            if (bound == loaded)
            {
                return;
            }
            if (bound == IntPtr.Zero)
            {
                throw new InvalidOperationException(
                    $"MailAccessForensics loaded '{path}', but on Windows PowerShell its native library must be " +
                    $"named {DllImportFileName} (the cmdlets find it by that name). Rename the file, or point {OverrideVariable} at one so named.");
            }
            throw new InvalidOperationException(
                $"Another copy of MailAccessForensics' native library is already loaded in this session, from '{ModuleFileName(bound)}', " +
                $"and the cmdlets would call it instead of '{path}'. Start a new Windows PowerShell session to use this copy of the module.");
        }

        private static string ModuleFileName(IntPtr module)
        {
            var buffer = new char[32768];
            uint length = GetModuleFileNameW(module, buffer, (uint)buffer.Length);
            return length == 0 ? "(unknown)" : new string(buffer, 0, (int)length);
        }
#else
        private static bool _resolverRegistered;

        // Registered once per process: Import-Module -Force runs the module initialiser again,
        // and a second registration for the same assembly throws.
        private static void Register(NativePlatform platform)
        {
            if (_resolverRegistered)
            {
                return;
            }
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);
            _resolverRegistered = true;
        }

        private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
        {
            return libraryName == "maf_native" && _resolvedPath != null ? NativeLibrary.Load(_resolvedPath) : IntPtr.Zero;
        }
#endif
    }
}
