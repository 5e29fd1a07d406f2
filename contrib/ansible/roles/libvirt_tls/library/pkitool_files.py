#!/usr/bin/python3
# -*- coding: utf-8 -*-
"""Read or install a host's certificate and key files in one module call.

Ansible's copy module costs one round trip per file (a host gets up to 15 here), which made the
role's deploy step dominate its run time; this module handles a host's whole set at once. It
writes the way pkitool does: each file is created in a temporary file in its target directory
that already has its final mode and owner before a byte is written, fsynced and renamed into
place, and the directory is fsynced. A file whose bytes, mode, owner and group already match is
left alone (not even rewritten), so a second run reports no change. It does no PKI: pkitool
issues and renews; this only moves bytes.
"""

DOCUMENTATION = r"""
module: pkitool_files
short_description: Read or install a set of certificate and key files at once
description:
  - C(read) returns the base64 contents of files (register the result with no_log).
  - C(files) installs files atomically with their final mode, owner and group.
options:
  read:
    description: Paths to read.
    type: list
    elements: path
  files:
    description:
      - Files to install; each has dest, mode, optionally owner and group, and where its bytes
        come from, src (a key of sources) or local (a file on this host, read in this same
        module call: a key made on the host is copied without leaving it). Other keys are
        ignored.
    type: list
    elements: dict
  sources:
    description: The base64 bytes of each src, by src (never logged); a read's contents.
    type: dict
  dirs:
    description: Directories to create first (mode dir_mode, owner, group).
    type: list
    elements: path
  dir_mode:
    type: str
    default: "0755"
  owner:
    type: str
  group:
    type: str
"""

import base64
import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

MAX_READ = 1 << 20


def uid_of(name):
    return pwd.getpwnam(name).pw_uid


def gid_of(name):
    return grp.getgrnam(name).gr_gid


def identical(path, data, mode, uid, gid):
    """True when path is a regular file with exactly these bytes, mode, owner and group."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
        return False
    if stat.S_IMODE(st.st_mode) != mode or st.st_uid != uid or st.st_gid != gid:
        return False
    with open(path, "rb") as f:
        return f.read(len(data) + 1) == data


def install(path, data, mode, uid, gid):
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".pkitool-files-")
    try:
        # mkstemp creates 0600; set the final owner and mode before writing anything.
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.rename(tmp, path)
        tmp = None
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def read_local(module, path):
    """The bytes of a file on this host, at most MAX_READ (libvirt reads at most 64 KiB of a
    certificate file)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_READ + 1)
    except OSError as e:
        module.fail_json(msg="cannot read %s: %s" % (path, e.strerror))
    if len(data) > MAX_READ:
        module.fail_json(msg="%s: larger than %d bytes, not a certificate or key file" % (path, MAX_READ))
    return data


def main():
    module = AnsibleModule(
        argument_spec=dict(
            read=dict(type="list", elements="path"),
            files=dict(type="list", elements="dict"),
            sources=dict(type="dict", default={}, no_log=True),
            dirs=dict(type="list", elements="path", default=[]),
            dir_mode=dict(type="str", default="0755"),
            owner=dict(type="str"),
            group=dict(type="str"),
        ),
        mutually_exclusive=[["read", "files"]],
        required_one_of=[["read", "files"]],
        supports_check_mode=True,
    )
    p = module.params
    if p["read"] is not None:
        contents = {}
        for path in p["read"]:
            contents[path] = base64.b64encode(read_local(module, path)).decode("ascii")
        module.exit_json(changed=False, contents=contents)

    changed = []
    try:
        duid = uid_of(p["owner"]) if p["owner"] else os.getuid()
        dgid = gid_of(p["group"]) if p["group"] else os.getgid()
        dmode = int(p["dir_mode"], 8)
        for d in p["dirs"]:
            if not os.path.isdir(d):
                changed.append(d)
                if not module.check_mode:
                    os.makedirs(d, mode=0o755, exist_ok=True)
            if module.check_mode:
                continue
            st = os.stat(d)
            if stat.S_IMODE(st.st_mode) != dmode or st.st_uid != duid or st.st_gid != dgid:
                if d not in changed:
                    changed.append(d)
                os.chown(d, duid, dgid)
                os.chmod(d, dmode)
        for f in p["files"]:
            dest = f["dest"]
            if f.get("local"):
                data = read_local(module, f["local"])
            elif f.get("src") in p["sources"]:
                data = base64.b64decode(p["sources"][f["src"]])
            else:
                module.fail_json(msg="%s: no bytes for it (src %s was not read)" % (dest, f.get("src")))
            mode = int(str(f["mode"]), 8)
            uid = uid_of(f.get("owner") or p["owner"]) if (f.get("owner") or p["owner"]) else os.getuid()
            gid = gid_of(f.get("group") or p["group"]) if (f.get("group") or p["group"]) else os.getgid()
            if identical(dest, data, mode, uid, gid):
                continue
            changed.append(dest)
            if module.check_mode:
                continue
            # A differing file is replaced whole, metadata-only differences too (never chmod'ed
            # in place: a key must not be readable, even briefly, by a group not meant for it).
            install(dest, data, mode, uid, gid)
    except KeyError as e:
        module.fail_json(msg="unknown user or group: %s" % e)
    except OSError as e:
        module.fail_json(msg="%s: %s" % (getattr(e, "filename", "") or "", e.strerror), changed_paths=changed)
    module.exit_json(changed=bool(changed), changed_paths=changed)


if __name__ == "__main__":
    main()
