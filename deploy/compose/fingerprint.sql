-- One JSON object: for each table of the public schema, its row count and an md5 of every row's text in a
-- stable order. The restore drill records it for the restored copy; run on the live database at the same
-- point in the WAL, it must be identical.
select coalesce(json_object_agg(name, json_build_object('rows', rows, 'md5', md5) order by name), '{}')
from (
  select c.relname as name,
    (xpath('/row/n/text()', query_to_xml(format('select count(*) as n from public.%I', c.relname), false, true, '')))[1]::text::bigint as rows,
    (xpath('/row/m/text()', query_to_xml(format(
      'select md5(coalesce(string_agg(t::text, E''\n'' order by t::text), '''')) as m from public.%I t', c.relname),
      false, true, '')))[1]::text as md5
  from pg_class c
  where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
) tables;
