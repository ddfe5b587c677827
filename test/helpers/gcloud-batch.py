"""Runs many gcloud command lines with one loaded gcloud (test/helpers/gcloud-parse.ts).

The installed SDK's own launcher (lib/gcloud.py) and entry point (googlecloudsdk.gcloud_main.main)
are imported and the CLI built once; then each command runs in a forked child, with its own
process state and its own stderr, as `gcloud ARGS` would. That spares the 1-3 s of start-up per
command. Usage: python3 gcloud-batch.py SDK_ROOT < one JSON argv a line (without "gcloud").
Output: one JSON object a line, {"code": exit status, "stderr": what gcloud wrote}."""
import json, os, sys, tempfile

root = sys.argv[1]
sys.argv = ['gcloud']
sys.path.insert(0, os.path.join(root, 'lib'))
import gcloud as launcher  # lib/gcloud.py: its path and module fixes
launcher._fix_google_module()
sys.path = launcher.reorder_sys_path(sys.path)
gcloud_main = launcher._import_gcloud_main()
cli = gcloud_main.CreateCLI([])

for line in sys.stdin:
    argv = json.loads(line)
    with tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.dup2(err.fileno(), 2)
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            sys.argv = ['gcloud'] + argv
            code = 0
            try:
                gcloud_main.main(gcloud_cli=cli)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException:
                code = 99
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        err.seek(0)
        text = err.read().decode('utf-8', 'replace')
    code = os.waitstatus_to_exitcode(status)
    sys.stdout.write(json.dumps({'code': code, 'stderr': text}) + '\n')
    sys.stdout.flush()
