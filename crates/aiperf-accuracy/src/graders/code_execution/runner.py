# Sandbox runner for the code_execution grader (run as `python3 -I -c <this file>`).
#
# A port of lighteval 0.13.0's lcb/codegen_metrics.py `run_test` (itself LiveCodeBench's
# testing_util.py): the same stdin patching, `wrapped_function` rewrite, call-based
# `Solution().<fn_name>(*args)` calls, stripped-line and Decimal output comparison and the
# same per-test result codes (True pass, False wrong answer (call-based), -2 wrong answer
# (stdin), -3 timeout, -4 error). Differences: timeouts use setitimer (fractional seconds),
# and resource limits are applied before lighteval's `reliability_guard`.
#
# Protocol: one JSON request on stdin {"code", "inputs", "outputs", "fn_name", "timeout",
# "memory_bytes"}; one JSON line {"results": [...]} on the original stdout. fd 1 is pointed at
# stderr before the program runs so stray writes cannot corrupt the reply.

import ast
import builtins
import faulthandler
import json
import os
import signal
import sys
from decimal import Decimal
from enum import Enum
from io import StringIO
from types import ModuleType
from unittest.mock import mock_open, patch

try:
    sys.set_int_max_str_digits(50000)
except AttributeError:
    pass

import_string = "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\nfrom heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\nfrom random import *\nfrom statistics import *\nfrom itertools import *\nfrom functools import *\nfrom operator import *\nfrom io import *\nfrom sys import *\nfrom json import *\nfrom builtins import *\nfrom typing import *\nimport string\nimport re\nimport datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\nimport math\nimport random\nimport statistics\nimport itertools\nimport functools\nimport operator\nimport io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n"


class CODE_TYPE(Enum):
    call_based = 0
    standard_input = 1


class TimeoutException(Exception):
    pass


def timeout_handler(signum, frame):
    raise TimeoutException


def alarm(seconds):
    """signal.alarm with fractional seconds (0 cancels)."""
    signal.setitimer(signal.ITIMER_REAL, seconds)


class Capturing(list):
    def __enter__(self):
        self._stdout = sys.stdout
        sys.stdout = self._stringio = StringIO()
        self._stringio.close = lambda x: 1
        return self

    def __exit__(self, *args):
        self.append(self._stringio.getvalue())
        del self._stringio
        sys.stdout = self._stdout


def clean_if_name(code):
    try:
        astree = ast.parse(code)
        last_block = astree.body[-1]
        if isinstance(last_block, ast.If):
            condition = last_block.test
            if ast.unparse(condition).strip() == "__name__ == '__main__'":
                code = ast.unparse(astree.body[:-1]) + "\n" + ast.unparse(last_block.body)
    except Exception:
        pass
    return code


def make_function(code):
    try:
        import_stmts = []
        all_other_stmts = []
        astree = ast.parse(code)
        for stmt in astree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                import_stmts.append(stmt)
            else:
                all_other_stmts.append(stmt)
        function_ast = ast.FunctionDef(
            name="wrapped_function",
            args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=all_other_stmts,
            decorator_list=[],
            lineno=-1,
        )
        return import_string + "\n" + ast.unparse(import_stmts) + "\n" + ast.unparse(function_ast)
    except Exception:
        return code


def call_method(method, inputs):
    if isinstance(inputs, list):
        inputs = "\n".join(inputs)
    inputs_line_iterator = iter(inputs.split("\n"))

    @patch("builtins.open", mock_open(read_data=inputs))
    @patch("sys.stdin", StringIO(inputs))
    @patch("sys.stdin.readline", lambda *args: next(inputs_line_iterator))
    @patch("sys.stdin.readlines", lambda *args: inputs.split("\n"))
    @patch("sys.stdin.read", lambda *args: inputs)
    def _inner_call_method(_method):
        try:
            return _method()
        except SystemExit:
            pass

    return _inner_call_method(method)


def get_function(compiled_sol, fn_name):
    try:
        assert hasattr(compiled_sol, fn_name)
        return getattr(compiled_sol, fn_name)
    except Exception:
        return None


def compile_code(code, timeout):
    alarm(timeout)
    try:
        tmp_sol = ModuleType("tmp_sol", "")
        exec(code, tmp_sol.__dict__)
        if "class Solution" in code:
            compiled_sol = tmp_sol.Solution()
        else:
            compiled_sol = tmp_sol
        assert compiled_sol is not None
    finally:
        alarm(0)
    return compiled_sol


def convert_line_to_decimals(line):
    try:
        decimal_line = [Decimal(elem) for elem in line.split()]
    except Exception:
        return False, []
    return True, decimal_line


def get_stripped_lines(val):
    val = val.strip()
    return [val_line.strip() for val_line in val.split("\n")]


def grade_call_based(code, all_inputs, all_outputs, fn_name, timeout):
    code = import_string + "\n\n" + code
    compiled_sol = compile_code(code, timeout)
    if compiled_sol is None:
        return [-4]
    method = get_function(compiled_sol, fn_name)
    if method is None:
        return [-4]
    all_inputs = [[json.loads(line) for line in inputs.split("\n")] for inputs in all_inputs]
    all_outputs = [json.loads(output) for output in all_outputs]
    all_results = []
    for gt_inp, gt_out in zip(all_inputs, all_outputs):
        alarm(timeout)
        try:
            prediction = method(*gt_inp)
            alarm(0)
            if isinstance(prediction, tuple):
                prediction = list(prediction)
            tmp_result = bool(prediction == gt_out)
            all_results.append(tmp_result)
            if not tmp_result:
                return all_results
        except Exception as e:
            alarm(0)
            all_results.append(-3 if "timeoutexception" in repr(e).lower() else -4)
            return all_results
        finally:
            alarm(0)
    return all_results


def grade_stdio(code, all_inputs, all_outputs, timeout):
    code = clean_if_name(code)
    code = make_function(code)
    compiled_sol = compile_code(code, timeout)
    if compiled_sol is None:
        return [-4]
    method = get_function(compiled_sol, "wrapped_function")
    if method is None:
        return [-4]
    all_results = []
    for gt_inp, gt_out in zip(all_inputs, all_outputs):
        alarm(timeout)
        with Capturing() as captured_output:
            try:
                call_method(method, gt_inp)
                alarm(0)
            except Exception as e:
                alarm(0)
                all_results.append(-3 if "timeoutexception" in repr(e).lower() else -4)
                return all_results
            finally:
                alarm(0)
        prediction = captured_output[0]
        stripped_prediction_lines = get_stripped_lines(prediction)
        stripped_gt_out_lines = get_stripped_lines(gt_out)
        if len(stripped_prediction_lines) != len(stripped_gt_out_lines):
            all_results.append(-2)
            return all_results
        for pred_line, gt_line in zip(stripped_prediction_lines, stripped_gt_out_lines):
            if pred_line == gt_line:
                continue
            success, decimal_prediction_line = convert_line_to_decimals(pred_line)
            if not success:
                all_results.append(-2)
                return all_results
            success, decimal_gtout_line = convert_line_to_decimals(gt_line)
            if not success:
                all_results.append(-2)
                return all_results
            if decimal_prediction_line == decimal_gtout_line:
                continue
            all_results.append(-2)
            return all_results
        all_results.append(True)
    return all_results


def run_test(in_outs, test, timeout):
    signal.signal(signal.SIGALRM, timeout_handler)
    reliability_guard()
    if in_outs.get("fn_name") is None:
        which_type, method_name = CODE_TYPE.standard_input, None
    else:
        which_type, method_name = CODE_TYPE.call_based, in_outs["fn_name"]
    alarm(timeout)
    try:
        if which_type == CODE_TYPE.call_based:
            return grade_call_based(test, in_outs["inputs"], in_outs["outputs"], method_name, timeout)
        return grade_stdio(test, in_outs["inputs"], in_outs["outputs"], timeout)
    except Exception:
        return [-4]
    finally:
        alarm(0)


def set_limits(memory_bytes, file_bytes):
    """Address-space and file-size caps, no core dumps. Best effort: a lower hard limit stays."""
    import resource

    def cap(kind, value):
        try:
            soft, hard = resource.getrlimit(kind)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(kind, (value, value))
        except (ValueError, OSError):
            pass

    if memory_bytes:
        cap(resource.RLIMIT_AS, memory_bytes)
        cap(resource.RLIMIT_DATA, memory_bytes)
    cap(resource.RLIMIT_FSIZE, file_bytes)
    cap(resource.RLIMIT_CORE, 0)


def reliability_guard():
    """lighteval's reliability_guard (memory limits are applied by set_limits)."""
    faulthandler.disable()
    builtins.quit = None
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in (
        "kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork",
        "forkpty", "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod",
        "fchown", "chmod", "chown", "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir",
    ):
        setattr(os, name, None)
    import shutil

    shutil.rmtree = None
    shutil.move = None
    shutil.chown = None
    import subprocess

    subprocess.Popen = None
    builtins.help = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None


def main():
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    reply = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    set_limits(request.get("memory_bytes"), request.get("file_bytes") or 64 * 1024 * 1024)
    in_outs = {k: request[k] for k in ("inputs", "outputs", "fn_name")}
    try:
        results = run_test(in_outs, request["code"], request["timeout"])
    except BaseException:
        results = [-1 for _ in in_outs["inputs"]]
    reply.write(json.dumps({"results": results}) + "\n")
    reply.flush()
    os._exit(0)


main()
