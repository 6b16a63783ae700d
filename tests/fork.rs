//! fork(): a child must not hang or crash on a client its parent made, and must be able to
//! make and use its own. (Its own test binary, so no other test thread is mid-call at fork.)

mod common;

use common::*;
use httpring::ffi::*;
use httpring_code::*;

#[test]
fn a_forked_child_sees_inherited_clients_closed_and_can_make_new_ones() {
    let srv = TestServer::start();
    let parent = Client::new();
    assert_eq!(parent.fetch(&srv.url("/hello")).0, 200);
    let url = std::ffi::CString::new(srv.url("/hello")).unwrap();

    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // Child: report failures through the exit status only.
        let mut h = 0;
        let mut code = 0;
        if unsafe { httpring_client_get(parent.0, url.as_ptr(), 0, &mut h) }
            != HTTPRING_ERR_CLIENT_CLOSED
        {
            code |= 1;
        }
        if httpring_client_free(parent.0) != HTTPRING_OK {
            code |= 2;
        }
        let fresh = unsafe { httpring_client_new(std::ptr::null()) };
        let mut state = httpring_state::HTTPRING_STATE_PENDING;
        let ok = unsafe {
            httpring_client_get(fresh, url.as_ptr(), 0, &mut h) == HTTPRING_OK
                && httpring_handle_wait(fresh, h, 5000, &mut state) == HTTPRING_OK
                && state == httpring_state::HTTPRING_STATE_DONE
        };
        if !ok {
            code |= 4;
        }
        httpring_client_free(fresh);
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    let deadline = std::time::Instant::now() + 20 * SECOND;
    loop {
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if std::time::Instant::now() > deadline {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the child hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(libc::WIFEXITED(status), "child died: status {status}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "child checks failed (bit mask)"
    );
    // The parent's client is unaffected.
    assert_eq!(parent.fetch(&srv.url("/hello")).0, 200);
}
