<?php
// Makes tests/vectors/php-ksort-extra.json: how PHP's ksort orders numeric-looking parameter
// names, measured on PHP itself. Run: php tests/vectors/make/php-ksort-extra.php > FILE
// (optional argument: number of random cases, default 400; a second one: the seed).
//
// Each case is an array built in arrival order ($a[$name] = $value, as PHP fills $_GET), then:
//  - "order": array_keys after ksort of the array without sign/sign_type — what a signer such
//    as the merchant SDK's getSign sorts (empty values present, filtered after the sort);
//  - "canonical"/"sign": getSign's string and md5(canonical . key);
//  - "order_with_sign"/"canonical_with_sign": the same array with sign and sign_type added
//    before the sort, as a verifier that calls getSign($_GET) sorts it;
//  - "order_filtered"/"canonical_filtered": only the fields that get signed (empty values
//    removed before the sort), as SDKs that filter first and sort afterwards do.

$count = isset($argv[1]) ? (int)$argv[1] : 300;
mt_srand(isset($argv[2]) ? (int)$argv[2] : 20261201);
$key = 'Pv7Bn2Mx9Qw4Er8Ty1Ui6Op3As5Df0Gh';

$tricky = ['0', '1', '2', '9', '10', '11', '99', '100', '-1', '-3', '-0', '01', '02', '007',
    '1a', '1f', '9a', 'b1', '1e1', '1e3', '1E2', '1e', '5.5', '5.', '.5', '9.0', '1.0', '10.0',
    '+5', ' 5', '5 ', "5\t", '0x1A', 'inf', 'NAN', '1_0', '9223372036854775807',
    '9223372036854775808', '-9223372036854775808', '-9223372036854775809',
    '99999999999999999999', '1e999', '-1e999', '00', '0.0', '-0.0', '1e-1', 'a', 'z', '_', 'A',
    '9z', '10a', '2b', '-', '+', '.', ' ', '中', '1中'];
$standard = ['pid', 'type', 'out_trade_no', 'notify_url', 'return_url', 'name', 'money',
    'param', 'sitename', 'trade_no', 'trade_status', 'clientip', 'device'];
$values = ['1.00', 'x', 'a b', '会员', '0', '', ' ', '17'];

function pick(array $from) { return $from[mt_rand(0, count($from) - 1)]; }

function sign_string(array $array, string $key): array {
    ksort($array);
    $parts = [];
    foreach ($array as $k => $v) {
        if ($k != 'sign' && $k != 'sign_type' && $v != '') {
            $parts[] = $k . '=' . $v;
        }
    }
    $canonical = implode('&', $parts);
    return [array_map('strval', array_keys($array)), $canonical, md5($canonical . $key)];
}

function make_case(array $names, array $values, string $key): array {
    $array = [];
    foreach ($names as $name) {
        $array[$name] = pick($values);
    }
    $pairs = [];
    foreach ($array as $k => $v) {
        $pairs[] = [(string)$k, $v];
    }
    [$order, $canonical, $sign] = sign_string($array, $key);
    $received = $array;
    $received['sign'] = $sign;
    $received['sign_type'] = 'MD5';
    [$order_with_sign, $canonical_with_sign] = sign_string($received, $key);
    [$order_filtered, $canonical_filtered] = sign_string(array_filter($array,
        fn($v) => $v != ''), $key);
    return ['pairs' => $pairs, 'order' => $order, 'canonical' => $canonical, 'sign' => $sign,
        'order_with_sign' => array_values(array_filter($order_with_sign,
            fn($k) => $k !== 'sign' && $k !== 'sign_type')),
        'canonical_with_sign' => $canonical_with_sign,
        'order_filtered' => $order_filtered, 'canonical_filtered' => $canonical_filtered];
}

$cases = [];
for ($n = 0; $n < $count; $n++) {
    // Mostly the insertion-sort sizes (2..16), some quicksort ones (17..60).
    $size = mt_rand(0, 4) ? mt_rand(2, 16) : mt_rand(17, 60);
    $names = [];
    while (count($names) < $size) {
        $names[] = mt_rand(0, 3) ? pick($tricky) : pick($standard);
        $names = array_values(array_unique($names));
    }
    $cases[] = make_case($names, $values, $key);
}
// One array past 1024 elements: quicksort with the median of five.
foreach ([1400] as $size) {
    $names = [];
    for ($i = 0; $i < $size; $i++) {
        $names[] = pick([(string)mt_rand(-500, 30000), mt_rand(0, 999) . pick(['', 'a', '.5', 'e1']),
            'k' . mt_rand(0, 99999), pick($tricky)]);
    }
    $names = array_values(array_unique($names));
    $cases[] = make_case($names, ['1', 'x'], $key);
}

echo json_encode([
    'about' => 'PHP ksort order of numeric-looking names, made by PHP itself with '
        . 'tests/vectors/make/php-ksort-extra.php. pairs: arrival order; order/canonical/sign: '
        . 'sorted without sign and sign_type (the signer); order_with_sign/canonical_with_sign: '
        . 'sorted with them present (a verifier calling getSign($_GET)); in both, empty values are '
        . 'in the array while it is sorted and left out of the string afterwards; '
        . 'order_filtered/canonical_filtered: empty values removed before sorting.',
    'php' => PHP_VERSION,
    'int_size' => PHP_INT_SIZE,
    'key' => $key,
    'cases' => $cases,
], JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) . "\n";
