<?php
// Makes tests/vectors/php-names.json: which top-level parameters PHP's request parser makes
// of tricky names (parse_str runs the same parser that fills $_GET and $_POST).
// Run: php tests/vectors/make/php-names.php > tests/vectors/php-names.json

$queries = [
    'a.b=1', 'a+b=1', 'a%20b=1', '+a=1', '%20%20a.b=1', 'a[=1', 'a[b=1', 'a[]=1', 'a[x]=1',
    'a]=1', '[a]=1', '[=1', 'a[b.c=1', 'a.b[c=1', 'a[b][c=1', 'a%00b=1', '%00a=1', 'a[b]c=1',
    'a[[b]=1', 'a[b[c]=1', '.a=1', 'a%20[b=1', 'a[.b=1', 'a%09.b=1', 'a%5B%5D=1', 'a]b[=1',
    'a=1&a[]=2&a[]=3', 'a[]=2&a=1', 'money=1.00&money[]=5', 'money[]=5&money=1.00',
    'money=1.00&money%00=0.01', 'money%00=0.01&money=1.00', 'money=1.00&+money=0.01',
    'mo.ney=1&mo_ney=2', 'mo_ney=2&mo.ney=1', 'a[b=1&a_b=2', 'pid=1&type=alipay&sign=x',
    '9=1&09=2&-0=3&10=4', 'name=a&name%00x=b&name[x]=c', '%E4%B8%AD.%E6%96%87=1', 'a.=1&a_=2',
    'x=1&&y=2', 'noval&z=', '=1&k=2',
];

$cases = [];
foreach ($queries as $query) {
    parse_str($query, $result);
    $fields = [];
    foreach ($result as $name => $value) {
        $fields[] = is_array($value)
            ? [(string)$name, 'array', array_map('strval', array_values($value))]
            : [(string)$name, 'string', $value];
    }
    $cases[] = ['query' => $query, 'fields' => $fields];
}
echo json_encode([
    'about' => 'Top-level $_GET/$_POST fields PHP makes of a query string (parse_str), made by '
        . 'PHP itself with tests/vectors/make/php-names.php. fields: [name, "string", value] or '
        . '[name, "array", [values]], in PHP\'s order.',
    'php' => PHP_VERSION,
    'cases' => $cases,
], JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRETTY_PRINT) . "\n";
