<?php
// The merchant SDK's notify page, reduced to what it does per notify: ksort, join non-empty
// fields but sign/sign_type, append the key, md5, compare; answer success or fail.
$key = 'SandboxKey0nlyForLocalTests00000';
function epay_sign($param, $key) {
    ksort($param);
    reset($param);
    $signstr = '';
    foreach ($param as $k => $v) {
        if ($k != "sign" && $k != "sign_type" && $v != '') {
            $signstr .= $k . '=' . $v . '&';
        }
    }
    $signstr = substr($signstr, 0, -1);
    return md5($signstr . $key);
}
if (!empty($_GET) && isset($_GET['sign']) && epay_sign($_GET, $key) === $_GET['sign']) {
    echo "success";
} else {
    echo "fail";
}
